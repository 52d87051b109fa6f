// The Deploy button, rollback and service operations through the REST API, on a real database: builds
// and replicas are driven through the work core as agents would (claim, finish), so what a user sees
// (deployments, their order, which one serves) comes from the same code the control plane runs.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/database.js";
import { buildTestApp, type TestApp } from "../../../test-support/app.js";
import { startGitServer, type GitServer } from "../../../test-support/git-server.js";
import { createRepo, type TestRepo } from "../../../test-support/git-repo.js";
import { queueBuilds, seedAgents } from "../../../test-support/fixtures.js";
import { BOOTSTRAP_ADMIN_ID, DEFAULT_ORG_ID } from "../db/schema.js";
import { buildWork } from "../builds/build-work.js";
import { WorkQueue, type ClaimingAgent } from "../work/work-queue.js";
import { deployWork } from "./deploy-work.js";
import { replaceReplicasOfSilentAgents } from "./replica-inventory.js";
import { desiredGitHubState } from "../github/deployment-sync.js";
import { SecretBox } from "../crypto/secret-box.js";
import { TEST_SECRET_KEY } from "../../../test-support/processes.js";
import { createMember, sessionHeaders } from "../../../test-support/people.js";

const TOKEN = randomBytes(32).toString("hex");
const ACTOR = `user:${BOOTSTRAP_ADMIN_ID}`;
const digest = () => `sha256:${randomBytes(32).toString("hex")}`;

interface DeploymentJson {
  id: string;
  sequence: number;
  buildId: string;
  imageRef: string;
  status: string;
  trigger: string;
  triggerReason: string | null;
  replicaCount: number;
  createdBy: string;
  replicas: { replicaIndex: number; status: string }[];
}

/** A service with an agent of its own (its labels are the service's alone): its work is its own. */
interface TestService {
  id: string;
  agent: ClaimingAgent;
  repo?: TestRepo;
}

describe("service operations", () => {
  let database: TestDatabase;
  let testApp: TestApp;
  let app: FastifyInstance;
  let queue: WorkQueue;
  let gitRoot: string;
  let git: GitServer;
  let port = 41000;

  beforeAll(async () => {
    database = await createTestDatabase();
    testApp = await buildTestApp(database.db, {
      GITHUB_WEBHOOK_SECRET: "x".repeat(32),
      SLIPWAY_BOOTSTRAP_TOKEN: TOKEN,
    });
    app = testApp.app;
    queue = new WorkQueue(
      database.db,
      [buildWork({ registryHost: "registry.test" }), deployWork({ secretBox: new SecretBox(TEST_SECRET_KEY) })],
      {
        leaseSeconds: 60,
      },
    );
    gitRoot = await mkdtemp(join(tmpdir(), "slipway-operations-git-"));
    git = await startGitServer(gitRoot);
  });

  afterAll(async () => {
    await testApp.close();
    await git.close();
    await rm(gitRoot, { recursive: true, force: true });
    await database.drop();
  });

  const call = async <T = Record<string, unknown>>(
    method: "GET" | "POST" | "PATCH",
    url: string,
    payload?: unknown,
  ) => {
    const response = await app.inject({
      method,
      url,
      payload: payload as never,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    return { status: response.statusCode, body: response.json<T>() };
  };

  async function newService(options: { autoDeploy?: boolean; replicas?: number; withRepo?: boolean } = {}) {
    const tag = randomBytes(4).toString("hex");
    const project = await call("POST", "/api/projects", { name: `p-${tag}` });
    const repo = options.withRepo ? await createRepo(gitRoot, `app-${tag}`) : undefined;
    if (repo) await repo.commit({ "README.md": "first\n" }, "First");
    const created = await call("POST", `/api/projects/${project.body.id as string}/services`, {
      name: "web",
      gitUrl: repo ? `${git.url}${repo.path}` : "https://example.invalid/acme/web.git",
      branch: "main",
      containerPort: 8080,
      replicas: options.replicas ?? 2,
      autoDeploy: options.autoDeploy ?? true,
      buildAgentLabels: { service: tag },
      deployAgentLabels: { service: tag },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ autoDeploy: options.autoDeploy ?? true, stopped: false, stoppedAt: null });
    const [agentId] = await seedAgents(database.db, 1, { capabilities: ["build", "deploy"], labels: { service: tag } });
    const agent = {
      id: agentId!,
      orgId: DEFAULT_ORG_ID,
      capabilities: ["build", "deploy"],
      labels: { service: tag },
      drained: false,
    };
    return { id: created.body.id as string, agent, repo } satisfies TestService;
  }

  /** The service's agent takes its next build, which must be `buildId`, and ends it. */
  async function endBuild(service: TestService, buildId: string, outcome: "completed" | "failed" = "completed") {
    const held = await queue.claim(service.agent, ["build"], null);
    expect(held?.row.id).toBe(buildId);
    const imageDigest = digest();
    await queue.finish(
      "build",
      { id: held!.row.id, leaseToken: held!.row.lease_token!, agentId: service.agent.id },
      outcome === "completed"
        ? { outcome: "succeeded", result: { imageDigest }, error: "" }
        : { outcome: "failed", result: undefined, error: "exit status 1" },
    );
    return imageDigest;
  }

  /** A completed build of the service (deployed when the service deploys automatically). */
  async function completedBuild(service: TestService) {
    const [build] = await queueBuilds(database.db, service.id);
    const imageDigest = await endBuild(service, build!.id);
    return { id: build!.id, digest: imageDigest };
  }

  /** The service's agent starts every replica waiting to start, each healthy; returns how many. */
  async function runReplicas(service: TestService): Promise<number> {
    let started = 0;
    for (;;) {
      const held = await queue.claim(service.agent, ["deploy"], null);
      if (!held) return started;
      port += 1;
      await queue.finish(
        "deploy",
        { id: held.row.id, leaseToken: held.row.lease_token!, agentId: service.agent.id },
        { outcome: "succeeded", result: { containerId: `c${port}`, host: "127.0.0.1", port }, error: "" },
      );
      started += 1;
    }
  }

  const deploymentsOf = async (service: TestService) =>
    (await call<DeploymentJson[]>("GET", `/api/services/${service.id}/deployments?limit=200`)).body;
  const serviceOf = async (service: TestService) => (await call("GET", `/api/services/${service.id}`)).body;
  const deploy = (service: TestService, body?: unknown) =>
    call<{ deployment: DeploymentJson; build: Record<string, unknown>; error?: string }>(
      "POST",
      `/api/services/${service.id}/deployments`,
      body,
    );

  /** Everything a refused request must leave as it was. */
  const snapshot = async (service: TestService) => ({
    service: await serviceOf(service),
    deployments: await deploymentsOf(service),
    builds: (await call("GET", `/api/builds?serviceId=${service.id}`)).body,
    audit: (
      await database.db
        .selectFrom("audit_log")
        .select(sql<number>`count(*)::int`.as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  });

  it("deploys an earlier build as a rollback by its digest, recording who and why; it serves once healthy", async () => {
    const service = await newService();
    const first = await completedBuild(service);
    expect(await runReplicas(service)).toBe(2);
    const second = await completedBuild(service);
    expect(await runReplicas(service)).toBe(2);
    const [serving] = await deploymentsOf(service);
    expect(serving).toMatchObject({ buildId: second.id, trigger: "auto", status: "succeeded", sequence: 2 });

    const rollback = await deploy(service, { buildId: first.id, reason: "second release breaks checkout" });
    expect(rollback.status).toBe(201);
    expect(rollback.body.deployment).toMatchObject({
      sequence: 3,
      buildId: first.id,
      imageRef: expect.stringMatching(new RegExp(`^registry\\.test/.+@${first.digest}$`)),
      trigger: "rollback",
      triggerReason: "second release breaks checkout",
      replicaCount: 2,
      createdBy: ACTOR,
      status: "pending",
    });
    // Until its replicas are healthy, the newer build keeps serving.
    expect((await serviceOf(service)).currentDeploymentId).toBe(serving!.id);
    expect(await runReplicas(service)).toBe(2);
    const [rolledBack, previous] = await deploymentsOf(service);
    expect(rolledBack).toMatchObject({ id: rollback.body.deployment.id, status: "succeeded" });
    expect(previous!.replicas.map((r) => r.status)).toEqual(["superseded", "superseded"]);
    expect((await serviceOf(service)).currentDeploymentId).toBe(rollback.body.deployment.id);

    // Deploying the newer build again is a plain manual deploy.
    const forward = await deploy(service, { buildId: second.id });
    expect(forward.body.deployment).toMatchObject({ sequence: 4, trigger: "manual", triggerReason: null });
    const audited = await database.db
      .selectFrom("audit_log")
      .select(["action", "actor", "details"])
      .where("target", "=", `service:${service.id}`)
      .where("action", "=", "service.deploy")
      .orderBy("id")
      .execute();
    expect(audited).toMatchObject([
      { actor: ACTOR, details: { trigger: "rollback", buildId: first.id, reason: "second release breaks checkout" } },
      { actor: ACTOR, details: { trigger: "manual", buildId: second.id } },
    ]);
  });

  it("refuses unknown, foreign, failed and unfinished builds and bad input with a reason, changing nothing", async () => {
    const service = await newService();
    await completedBuild(service);
    await runReplicas(service);
    const other = await newService();
    const foreign = await completedBuild(other);
    const [failed] = await queueBuilds(database.db, service.id);
    await endBuild(service, failed!.id, "failed");
    const [pending] = await queueBuilds(database.db, service.id);
    const before = await snapshot(service);

    const refusals: [unknown, number, RegExp][] = [
      [{ buildId: "00000000-0000-4000-8000-000000000000" }, 404, /^build 0{8}-0000-4000-8000-0{12} not found$/],
      [{ buildId: foreign.id }, 422, /belongs to another service/],
      [{ buildId: failed!.id }, 422, /is failed \(exit status 1\): only a completed build can be deployed/],
      [{ buildId: pending!.id }, 422, /is pending: only a completed build can be deployed/],
      [{ buildId: "not-a-uuid" }, 400, /buildId/],
      [{ buildId: foreign.id, reason: "x".repeat(501) }, 400, /reason/],
      [{ buildId: foreign.id, replicas: 3 }, 400, /additional properties/],
    ];
    for (const [body, status, error] of refusals) {
      const response = await deploy(service, body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.body.error, JSON.stringify(body)).toMatch(error);
    }
    for (const replicas of [0, 65, 2.5]) {
      const response = await call("PATCH", `/api/services/${service.id}`, { replicas });
      expect(response.status, `replicas ${replicas}`).toBe(400);
      expect(response.body.error).toMatch(/replicas/);
    }
    const missing = await call("POST", "/api/services/00000000-0000-4000-8000-000000000000/deployments", {});
    expect(missing).toEqual({
      status: 404,
      body: { error: "service 00000000-0000-4000-8000-000000000000 not found", statusCode: 404 },
    });
    expect(await snapshot(service)).toEqual(before);
  });

  it("lets viewers look but not deploy, restart, stop or start (the API refuses)", async () => {
    const service = await newService();
    const build = await completedBuild(service);
    const before = await snapshot(service);
    const headers = await sessionHeaders(
      database.db,
      await createMember(database.db, "viewer", { orgId: DEFAULT_ORG_ID }),
    );
    const look = await app.inject({ method: "GET", url: `/api/services/${service.id}/deployments`, headers });
    expect(look.statusCode).toBe(200);
    for (const [url, payload] of [
      [`/api/services/${service.id}/deployments`, { buildId: build.id }],
      [`/api/services/${service.id}/deployments`, {}],
      [`/api/services/${service.id}/restart`, {}],
      [`/api/services/${service.id}/stop`, {}],
      [`/api/services/${service.id}/start`, {}],
    ] as const) {
      const response = await app.inject({ method: "POST", url, payload, headers });
      expect(response.statusCode, url).toBe(403);
      expect(response.json()).toMatchObject({ error: "this needs the developer role or above; you are viewer" });
    }
    expect(await snapshot(service)).toEqual(before);
  });

  it("restarts with the same image: new replicas replace the old ones", async () => {
    const service = await newService();
    const never = await newService();
    expect((await call("POST", `/api/services/${never.id}/restart`)).body).toEqual({
      error: `nothing is deployed to service ${never.id}`,
      statusCode: 409,
    });
    await completedBuild(service);
    await runReplicas(service);
    const [serving] = await deploymentsOf(service);

    const restart = await call<{ deployment: DeploymentJson }>("POST", `/api/services/${service.id}/restart`, {
      reason: "memory leak",
    });
    expect(restart.status).toBe(201);
    expect(restart.body.deployment).toMatchObject({
      sequence: serving!.sequence + 1,
      buildId: serving!.buildId,
      imageRef: serving!.imageRef,
      trigger: "restart",
      triggerReason: "memory leak",
      replicaCount: 2,
      replicas: [{ status: "pending" }, { status: "pending" }],
    });
    expect(await runReplicas(service)).toBe(2);
    const [restarted, old] = await deploymentsOf(service);
    expect(restarted).toMatchObject({ status: "succeeded", replicas: [{ status: "running" }, { status: "running" }] });
    expect(old!.replicas.map((r) => r.status)).toEqual(["superseded", "superseded"]);
  });

  it("stops: a deployment of no replicas succeeds at once and supersedes the serving ones; start brings the image back", async () => {
    const service = await newService();
    const build = await completedBuild(service);
    await runReplicas(service);
    const [serving] = await deploymentsOf(service);

    const stop = await call<{ deployment: DeploymentJson }>("POST", `/api/services/${service.id}/stop`);
    expect(stop.status).toBe(201);
    expect(stop.body.deployment).toMatchObject({
      sequence: serving!.sequence + 1,
      trigger: "stop",
      replicaCount: 0,
      status: "succeeded",
      replicas: [],
      createdBy: ACTOR,
    });
    const [, stopped] = await deploymentsOf(service);
    expect(stopped!.replicas.map((r) => r.status)).toEqual(["superseded", "superseded"]);
    expect(await serviceOf(service)).toMatchObject({
      stopped: true,
      stoppedAt: expect.any(String),
      currentDeploymentId: stop.body.deployment.id,
    });

    // Stopped: no second stop, no restart, and a completed build does not deploy.
    for (const operation of ["stop", "restart"]) {
      const response = await call("POST", `/api/services/${service.id}/${operation}`);
      expect(response.status, operation).toBe(409);
    }
    await completedBuild(service);
    expect(await deploymentsOf(service)).toHaveLength(2);
    // Scaling a stopped service changes its count only; start uses it.
    const scaled = await call("PATCH", `/api/services/${service.id}`, { replicas: 3 });
    expect(scaled.body).toMatchObject({ replicas: 3, stopped: true });
    expect(scaled.body.deploymentId).toBeUndefined();

    const start = await call<{ deployment: DeploymentJson }>("POST", `/api/services/${service.id}/start`, {
      reason: "back to work",
    });
    expect(start.status).toBe(201);
    expect(start.body.deployment).toMatchObject({
      sequence: serving!.sequence + 2,
      trigger: "start",
      triggerReason: "back to work",
      buildId: build.id,
      imageRef: serving!.imageRef,
      replicaCount: 3,
    });
    expect(await serviceOf(service)).toMatchObject({ stopped: false, stoppedAt: null });
    expect((await call("POST", `/api/services/${service.id}/start`)).body).toEqual({
      error: `service ${service.id} is not stopped`,
      statusCode: 409,
    });
    expect(await runReplicas(service)).toBe(3);
    expect((await serviceOf(service)).currentDeploymentId).toBe(start.body.deployment.id);
  });

  it("scales through the replica count: a deployment of the same image with the new count", async () => {
    const service = await newService();
    await completedBuild(service);
    await runReplicas(service);
    const [serving] = await deploymentsOf(service);

    const up = await call("PATCH", `/api/services/${service.id}`, { replicas: 4 });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ replicas: 4, deploymentId: expect.any(String) });
    const [scaled] = await deploymentsOf(service);
    expect(scaled).toMatchObject({
      id: up.body.deploymentId,
      trigger: "scale",
      triggerReason: "from 2 to 4",
      imageRef: serving!.imageRef,
      replicaCount: 4,
    });
    expect(await runReplicas(service)).toBe(4);

    // The same count again, or another setting: no deployment.
    const same = await call("PATCH", `/api/services/${service.id}`, { replicas: 4, drainSeconds: 3 });
    expect(same.body.deploymentId).toBeUndefined();
    const down = await call("PATCH", `/api/services/${service.id}`, { replicas: 1 });
    expect(await runReplicas(service)).toBe(1);
    const after = await deploymentsOf(service);
    expect(after.map((d) => [d.trigger, d.replicaCount, d.status])).toEqual([
      ["scale", 1, "succeeded"],
      ["scale", 4, "succeeded"],
      ["auto", 2, "succeeded"],
    ]);
    expect(after[0]!.id).toBe(down.body.deploymentId);
    expect(after[1]!.replicas.map((r) => r.status)).toEqual(["superseded", "superseded", "superseded", "superseded"]);
  });

  it("deploys the branch head: queues its build with a deploy requested, which deploys on completion without auto-deploy", async () => {
    const service = await newService({ autoDeploy: false, withRepo: true });
    const head = await service.repo!.commit({ "app.js": "v2\n" }, "Second");

    const queued = await deploy(service, { reason: "release 2" });
    expect(queued.status).toBe(202);
    expect(queued.body.build).toMatchObject({ commitSha: head, status: "pending", trigger: "manual" });
    expect(await deploymentsOf(service)).toEqual([]);
    // Pressing Deploy again while it is on its way queues nothing new.
    const again = await deploy(service);
    expect(again).toMatchObject({ status: 202, body: { build: { id: queued.body.build.id } } });
    expect((await call<unknown[]>("GET", `/api/builds?serviceId=${service.id}`)).body).toHaveLength(1);

    const imageDigest = await endBuild(service, queued.body.build.id as string);
    const [deployed] = await deploymentsOf(service);
    expect(deployed).toMatchObject({
      buildId: queued.body.build.id,
      imageRef: expect.stringMatching(new RegExp(`@${imageDigest}$`)),
      trigger: "manual",
      createdBy: ACTOR,
      replicaCount: 2,
    });
    expect(await runReplicas(service)).toBe(2);

    // With the head built, Deploy deploys that build at once.
    const redeploy = await deploy(service);
    expect(redeploy.status).toBe(201);
    expect(redeploy.body.deployment).toMatchObject({ buildId: queued.body.build.id, sequence: 2, trigger: "manual" });

    // A build of the head already on its way (started by hand) is the one that deploys.
    const third = await service.repo!.commit({ "app.js": "v3\n" }, "Third");
    const started = await call("POST", `/api/services/${service.id}/builds`);
    expect(started.body).toMatchObject({ commitSha: third });
    const picked = await deploy(service);
    expect(picked).toMatchObject({ status: 202, body: { build: { id: started.body.id } } });
    await endBuild(service, started.body.id as string);
    expect((await deploymentsOf(service))[0]).toMatchObject({ buildId: started.body.id, sequence: 3 });
  });

  it("gives Deploy pressed twice at once one build of the head", async () => {
    const service = await newService({ autoDeploy: false, withRepo: true });
    const answers = await Promise.all([deploy(service), deploy(service), deploy(service)]);
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    expect(new Set(answers.map((a) => a.body.build.id)).size).toBe(1);
    expect((await call<unknown[]>("GET", `/api/builds?serviceId=${service.id}`)).body).toHaveLength(1);
  });

  it("starts a stopped service by Deploy; a Deploy pressed before a stop does not undo it", async () => {
    const service = await newService({ withRepo: true });
    const first = await completedBuild(service);
    await runReplicas(service);
    await call("POST", `/api/services/${service.id}/stop`);
    // Deploying a chosen build starts it.
    const chosen = await deploy(service, { buildId: first.id });
    expect(chosen.body.deployment).toMatchObject({ trigger: "manual", replicaCount: 2 });
    expect(await serviceOf(service)).toMatchObject({ stopped: false });
    await runReplicas(service);

    // Deploy pressed, then Stop while the build runs: the build completes and nothing deploys.
    const head = await service.repo!.commit({ "app.js": "v2\n" }, "Second");
    const requested = await deploy(service);
    expect(requested.body.build).toMatchObject({ commitSha: head });
    await call("POST", `/api/services/${service.id}/stop`);
    const deployedBefore = (await deploymentsOf(service)).length;
    await endBuild(service, requested.body.build.id as string);
    expect(await deploymentsOf(service)).toHaveLength(deployedBefore);
    expect(await serviceOf(service)).toMatchObject({ stopped: true });

    // Deploy pressed after the stop: the head's completed build deploys and the service runs again.
    const third = await service.repo!.commit({ "app.js": "v3\n" }, "Third");
    const again = await deploy(service);
    expect(again).toMatchObject({ status: 202, body: { build: { commitSha: third } } });
    await endBuild(service, again.body.build.id as string);
    expect((await deploymentsOf(service))[0]).toMatchObject({ buildId: again.body.build.id, replicaCount: 2 });
    expect(await serviceOf(service)).toMatchObject({ stopped: false, stoppedAt: null });
  });

  it("does not undo a build deployed by hand after Deploy was pressed when the requested build completes", async () => {
    const service = await newService({ autoDeploy: false, withRepo: true });
    const [first] = await queueBuilds(database.db, service.id);
    await endBuild(service, first!.id);
    await deploy(service, { buildId: first!.id });
    await runReplicas(service);
    await service.repo!.commit({ "app.js": "v2\n" }, "Second");
    const requested = await deploy(service);
    expect(requested.status).toBe(202);
    // Second thoughts: the first build again, by hand, while the head builds.
    const chosen = await deploy(service, { buildId: first!.id, reason: "keep the first" });
    expect(chosen.status).toBe(201);
    await endBuild(service, requested.body.build.id as string);
    const [newest] = await deploymentsOf(service);
    expect(newest).toMatchObject({ id: chosen.body.deployment.id, buildId: first!.id });
    // GitHub is not left waiting for a deploy that will not come.
    await database.db
      .insertInto("github_installations")
      .values({
        id: 7,
        org_id: DEFAULT_ORG_ID,
        account_login: "a",
        account_type: "User",
        app_id: null,
        permissions: "{}",
      })
      .execute();
    await database.db
      .insertInto("github_deployments")
      .values({
        build_id: requested.body.build.id as string,
        installation_id: 7,
        repository: "a/web",
        environment: "web",
      })
      .execute();
    expect(await desiredGitHubState(database.db, requested.body.build.id as string)).toBe("success");
  });

  it("does not deploy a completed build when auto-deploy is off, until turned back on", async () => {
    const service = await newService({ autoDeploy: false });
    await completedBuild(service);
    expect(await deploymentsOf(service)).toEqual([]);
    const on = await call("PATCH", `/api/services/${service.id}`, { autoDeploy: true });
    expect(on.body).toMatchObject({ autoDeploy: true });
    const build = await completedBuild(service);
    expect((await deploymentsOf(service)).map((d) => [d.buildId, d.trigger])).toEqual([[build.id, "auto"]]);
  });

  it("shows on GitHub: a build waiting for its requested deploy is in progress; stopped, its deployment is inactive", async () => {
    const service = await newService({ autoDeploy: false, withRepo: true });
    const installationId = Math.floor(Math.random() * 1e9);
    await database.db
      .insertInto("github_installations")
      .values({
        id: installationId,
        org_id: DEFAULT_ORG_ID,
        account_login: "acme",
        account_type: "Organization",
        app_id: null,
        permissions: "{}",
      })
      .execute();
    const mirrored = async (buildId: string) => {
      await database.db
        .insertInto("github_deployments")
        .values({ build_id: buildId, installation_id: installationId, repository: "acme/web", environment: "web" })
        .execute();
    };
    // Built without a deploy requested: nothing will deploy it.
    const plain = await completedBuild(service);
    await mirrored(plain.id);
    expect(await desiredGitHubState(database.db, plain.id)).toBe("success");

    const requested = await deploy(service);
    const buildId = requested.body.build.id as string;
    await mirrored(buildId);
    expect(await desiredGitHubState(database.db, buildId)).toBe("queued");
    const held = await queue.claim(service.agent, ["build"], null);
    await queue.finish(
      "build",
      { id: held!.row.id, leaseToken: held!.row.lease_token!, agentId: service.agent.id },
      { outcome: "succeeded", result: { imageDigest: digest() }, error: "" },
    );
    expect(await desiredGitHubState(database.db, buildId)).toBe("in_progress");
    await runReplicas(service);
    expect(await desiredGitHubState(database.db, buildId)).toBe("success");
    await call("POST", `/api/services/${service.id}/stop`);
    expect(await desiredGitHubState(database.db, buildId)).toBe("inactive");
  });

  it("orders concurrent deploys by the service lock: each gets its own sequence and the newest serves", async () => {
    const service = await newService();
    const builds = [await completedBuild(service), await completedBuild(service)];
    await runReplicas(service);
    const before = (await deploymentsOf(service)).length;
    const answers = await Promise.all(builds.map((build) => deploy(service, { buildId: build.id })));
    expect(answers.map((a) => a.status)).toEqual([201, 201]);
    const sequences = answers.map((a) => a.body.deployment.sequence).sort((a, b) => a - b);
    expect(sequences).toEqual([before + 1, before + 2]);

    await runReplicas(service);
    const newest = answers.find((a) => a.body.deployment.sequence === before + 2)!.body.deployment;
    const older = answers.find((a) => a.body.deployment.sequence === before + 1)!.body.deployment;
    const listed = await deploymentsOf(service);
    expect(listed.find((d) => d.id === newest.id)).toMatchObject({ status: "succeeded" });
    expect(listed.find((d) => d.id === older.id)).toMatchObject({ status: "cancelled" });
    expect((await serviceOf(service)).currentDeploymentId).toBe(newest.id);
  });

  it("replaces the replicas of a silent agent with a deployment that says so", async () => {
    const service = await newService();
    await completedBuild(service);
    await runReplicas(service);
    await database.db
      .updateTable("agents")
      .set({ inventory_at: sql<Date>`now() - interval '1 hour'` })
      .where("id", "=", service.agent.id)
      .execute();
    const created = await replaceReplicasOfSilentAgents(database.db, 60);
    expect(created.map((d) => d.service_id)).toEqual([service.id]);
    expect((await deploymentsOf(service))[0]).toMatchObject({
      trigger: "replica_lost",
      createdBy: "reconciler",
      replicaCount: 2,
    });
  });
});
