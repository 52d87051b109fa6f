// Deployments of a service are ordered, against a real database through the work core: concurrent
// completions give one winner, and an older deployment finishing late never takes the service back.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/database.js";
import { seedAgents, seedService, queueBuilds } from "../../../test-support/fixtures.js";
import { DEFAULT_ORG_ID } from "../db/schema.js";
import { buildWork, insertBuild } from "../builds/build-work.js";
import { WorkQueue, type ClaimingAgent } from "../work/work-queue.js";
import { deployWork } from "./deploy-work.js";
import { createDeployment } from "./deployment-repository.js";
import { containersToRemove } from "./replica-inventory.js";
import { SecretBox } from "../crypto/secret-box.js";
import { TEST_SECRET_KEY } from "../../../test-support/processes.js";

const DIGEST = `sha256:${"cd".repeat(32)}`;

describe("deployments of a service", () => {
  let database: TestDatabase;
  let queue: WorkQueue;
  const agentOf = (id: string, capabilities: string[]): ClaimingAgent => ({
    id,
    orgId: DEFAULT_ORG_ID,
    capabilities,
    labels: {},
    drained: false,
  });

  beforeAll(async () => {
    database = await createTestDatabase();
    queue = new WorkQueue(
      database.db,
      [buildWork({ registryHost: "registry.test" }), deployWork({ secretBox: new SecretBox(TEST_SECRET_KEY) })],
      {
        leaseSeconds: 60,
      },
    );
  });

  afterAll(() => database.drop());

  const deploymentsOf = (serviceId: string) =>
    database.db
      .selectFrom("deployments")
      .select(["build_id", "sequence", "status", "image_ref"])
      .where("service_id", "=", serviceId)
      .orderBy("sequence")
      .execute();

  it("deploys only the newer of two builds completing at the same moment, by digest, numbered in order", async () => {
    for (let round = 0; round < 5; round++) {
      // Its replicas wait for a label no agent here carries: the next test's agents leave them alone.
      const { projectId, serviceId } = await seedService(database.db, { deployAgentLabels: { zone: "nowhere" } });
      const [older] = await queueBuilds(database.db, serviceId);
      const [newer] = await queueBuilds(database.db, serviceId);
      const builders = (await seedAgents(database.db, 2)).map((id) => agentOf(id, ["build"]));
      const held = await Promise.all(builders.map((agent) => queue.claim(agent, ["build"], null)));
      await Promise.all(
        held.map((work, i) =>
          queue.finish(
            "build",
            { id: work!.row.id, leaseToken: work!.row.lease_token!, agentId: builders[i]!.id },
            { outcome: "succeeded", result: { imageDigest: DIGEST }, error: "" },
          ),
        ),
      );
      const deployments = await deploymentsOf(serviceId);
      // Whichever finished first, the service is left deploying the newer build, and only it.
      expect(deployments.filter((d) => d.status === "pending")).toEqual([
        {
          build_id: newer!.id,
          sequence: deployments.length,
          status: "pending",
          image_ref: `registry.test/${projectId}/${serviceId}@${DIGEST}`,
        },
      ]);
      expect(deployments.map((d) => d.sequence)).toEqual(deployments.map((_, i) => i + 1));
      expect(deployments.every((d) => d.build_id === newer!.id || d.build_id === older!.id)).toBe(true);
    }
  });

  it("supersedes an older deployment that finishes after a newer one succeeded; the newer keeps serving", async () => {
    const { serviceId } = await seedService(database.db);
    const deployers = (await seedAgents(database.db, 2, { capabilities: ["deploy"] })).map((id) =>
      agentOf(id, ["deploy"]),
    );
    const deploy = (n: number) =>
      database.db.transaction().execute(async (trx) => {
        const build = await insertBuild(trx, {
          serviceId,
          commitSha: randomBytes(20).toString("hex"),
          branch: "main",
          trigger: "manual",
          actor: "user:test",
        });
        return createDeployment(trx, {
          serviceId,
          buildId: build.id,
          imageRef: `registry.test/p/s@sha256:${String(n).repeat(64)}`,
          replicas: 1,
          createdBy: "user:test",
          trigger: "manual",
        });
      });
    const running = (agent: ClaimingAgent, row: { id: string; lease_token: string | null }, port: number) =>
      queue.finish(
        "deploy",
        { id: row.id, leaseToken: row.lease_token!, agentId: agent.id },
        { outcome: "succeeded", result: { containerId: `c${port}`, host: "127.0.0.1", port }, error: "" },
      );

    const first = await deploy(1);
    const firstItem = (await queue.claim(deployers[0]!, ["deploy"], null))!;
    const second = await deploy(2);
    const secondItem = (await queue.claim(deployers[1]!, ["deploy"], null))!;
    expect(firstItem.spec).toMatchObject({ deploymentId: first.id, deploymentSequence: first.sequence });
    expect(secondItem.spec).toMatchObject({ deploymentId: second.id, deploymentSequence: first.sequence + 1 });

    await running(deployers[1]!, secondItem.row, 40002);
    await running(deployers[0]!, firstItem.row, 40001);

    expect((await deploymentsOf(serviceId)).map((d) => d.status)).toEqual(["cancelled", "succeeded"]);
    const items = await database.db
      .selectFrom("deploy_work_items")
      .select(["deployment_id", "status"])
      .where("deployment_id", "in", [first.id, second.id])
      .execute();
    expect(items).toEqual(
      expect.arrayContaining([
        { deployment_id: first.id, status: "superseded" },
        { deployment_id: second.id, status: "running" },
      ]),
    );

    // What the agents are told to remove: never the newer deployment's container, even by the agent
    // whose older deployment finished last; the older one once the route has left it and it drained.
    const inventory = (agent: ClaimingAgent, containerId: string, deployment: { id: string }) =>
      containersToRemove(database.db, agent.id, [{ containerId, deploymentId: deployment.id, replicaIndex: 0 }]);
    expect(await inventory(deployers[1]!, "c40002", second)).toEqual([]);
    await database.db.updateTable("services").set({ drain_seconds: 0 }).where("id", "=", serviceId).execute();
    await database.db
      .updateTable("deploy_work_items")
      .set({ unrouted_at: new Date(Date.now() - 1000) })
      .where("deployment_id", "=", first.id)
      .execute();
    expect(await inventory(deployers[0]!, "c40001", first)).toEqual(["c40001"]);
    expect(await inventory(deployers[1]!, "c40002", second)).toEqual([]);
  });
});
