// The walking skeleton end to end, on real parts: PostgreSQL, Redis, podman, the local registry and
// a git smart-HTTP server. A signed push webhook becomes a build, an image in the registry, and a
// container serving that commit's content; a second push replaces it.
import { randomBytes, randomInt } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClient, eventually, type ApiClient } from "../test-support/api.js";
import { containersWithLabel, removeContainersWithLabel } from "../test-support/containers.js";
import { createTestDatabase, type TestDatabase } from "../test-support/database.js";
import { startGitServer, type GitServer } from "../test-support/git-server.js";
import { createRepo, type TestRepo } from "../test-support/git-repo.js";
import {
  startAgentProcess,
  startControlPlaneProcess,
  type ChildHandle,
  type ControlPlaneProcess,
} from "../test-support/processes.js";
import { BASE_IMAGE, REGISTRY_HOST, manifestDigest, registryTags } from "../test-support/registry.js";
import { pushPayload, signedDelivery } from "../test-support/webhooks.js";

const SECRET = `whsec-${randomBytes(16).toString("hex")}`;
const TOKEN = randomBytes(32).toString("hex");

interface Build {
  id: string;
  status: string;
  statusReason: string | null;
  commitSha: string;
  imageRef: string | null;
  imageDigest: string | null;
  history: { from: string | null; to: string }[];
}
interface Deployment {
  id: string;
  buildId: string;
  status: string;
  reason: string | null;
  replicas: { status: string; endpoint: string | null; containerId: string | null }[];
}

const containerfile = [
  `FROM ${BASE_IMAGE}`,
  "COPY www /www",
  "EXPOSE 8080",
  'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
  "",
].join("\n");

describe("a signed GitHub push becomes a running container", () => {
  let database: TestDatabase;
  let gitRoot: string;
  let stateDir: string;
  let git: GitServer;
  let repo: TestRepo;
  let controlPlane: ControlPlaneProcess;
  let agent: ChildHandle;
  let api: ApiClient;
  let projectId: string;
  let serviceId: string;
  const repositoryId = randomInt(1_000_000, 2_000_000_000);

  async function push(sha: string, deliveryId?: string) {
    const delivery = await signedDelivery(
      SECRET,
      "push",
      pushPayload({ repositoryId, branch: "main", sha }),
      deliveryId,
    );
    const response = await fetch(`${controlPlane.httpUrl}/api/webhooks/github`, {
      method: "POST",
      headers: delivery.headers,
      body: delivery.body,
    });
    return {
      status: response.status,
      body: (await response.json()) as { buildIds: string[]; duplicate: boolean },
      delivery,
    };
  }

  const terminal = (b: Build) => ["completed", "failed", "cancelled"].includes(b.status);

  async function deploymentOf(buildId: string): Promise<Deployment | undefined> {
    const deployments = await api.ok<Deployment[]>("GET", `/api/services/${serviceId}/deployments`);
    return deployments.find((d) => d.buildId === buildId);
  }

  async function buildAndServe(sha: string, deliveryId?: string) {
    const pushed = await push(sha, deliveryId);
    expect(pushed.status).toBe(202);
    expect(pushed.body.buildIds).toHaveLength(1);
    const buildId = pushed.body.buildIds[0] as string;
    const build = await eventually(() => api.ok<Build>("GET", `/api/builds/${buildId}`), terminal, {
      timeoutMs: 180_000,
      what: `build ${buildId}`,
    });
    expect(build, `logs: ${await logsOf(buildId)}`).toMatchObject({ status: "completed", commitSha: sha });
    const deployment = await eventually(
      () => deploymentOf(buildId),
      (d) => d !== undefined && ["succeeded", "failed"].includes(d.status),
      { timeoutMs: 120_000, what: `deployment of ${buildId}` },
    );
    expect(deployment?.status, deployment?.reason ?? "").toBe("succeeded");
    return { build, deployment: deployment as Deployment };
  }

  async function logsOf(buildId: string): Promise<string> {
    const { chunks } = await api.ok<{ chunks: { text: string }[] }>("GET", `/api/builds/${buildId}/logs`);
    return chunks.map((c) => c.text).join("");
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    gitRoot = await mkdtemp(join(tmpdir(), "slipway-git-"));
    stateDir = await mkdtemp(join(tmpdir(), "slipway-agent-"));
    git = await startGitServer(gitRoot);
    repo = await createRepo(gitRoot, `hello-${randomBytes(4).toString("hex")}`);
    controlPlane = await startControlPlaneProcess({
      DATABASE_URL: database.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      GITHUB_WEBHOOK_SECRET: SECRET,
      SLIPWAY_BOOTSTRAP_TOKEN: TOKEN,
      REGISTRY_HOST,
      LOG_LEVEL: "info",
    });
    api = apiClient(controlPlane.httpUrl, TOKEN);
    const enrolment = await api.ok<{ joinToken: string }>("POST", "/api/agents", {
      name: "local",
      capabilities: ["build", "deploy"],
    });
    agent = await startAgentProcess({
      SLIPWAY_SERVER: controlPlane.grpcAddress,
      SLIPWAY_JOIN_TOKEN: enrolment.joinToken,
      SLIPWAY_STATE_DIR: stateDir,
      KILL_GRACE_SECONDS: "2",
      INVENTORY_SECONDS: "1",
    });
    projectId = (await api.ok<{ id: string }>("POST", "/api/projects", { name: "e2e" })).id;
    serviceId = (
      await api.ok<{ id: string }>("POST", `/api/projects/${projectId}/services`, {
        name: "hello",
        gitUrl: `${git.url}${repo.path}`,
        githubRepoId: repositoryId,
        branch: "main",
        containerPort: 8080,
        drainSeconds: 1,
      })
    ).id;
  });

  afterAll(async () => {
    await agent?.stop();
    await controlPlane?.stop();
    if (projectId) await removeContainersWithLabel(`slipway.project=${projectId}`);
    await git?.close();
    await database?.drop();
    await rm(gitRoot, { recursive: true, force: true });
    await rm(stateDir, { recursive: true, force: true });
  });

  let firstSha: string;
  let firstDeliveryId: string;

  it("builds the pushed commit, pushes its image, and serves its content", async () => {
    firstSha = await repo.commit(
      { Containerfile: containerfile, "www/index.html": "hello from the first commit\n" },
      "First",
    );
    firstDeliveryId = crypto.randomUUID();
    const { build, deployment } = await buildAndServe(firstSha, firstDeliveryId);

    // Every step of the status machine is on record, in order.
    expect(build.history.map((h) => h.to)).toEqual([
      "pending",
      "claimed",
      "cloning",
      "building",
      "pushing",
      "completed",
    ]);
    // The registry lists the image under the commit, with the digest the build reported.
    const repository = `${projectId}/${serviceId}`;
    expect(build.imageRef).toBe(`${REGISTRY_HOST}/${repository}:${firstSha}`);
    expect(await registryTags(repository)).toContain(firstSha);
    expect(await manifestDigest(repository, firstSha)).toBe(build.imageDigest);
    // The build's log was streamed and kept.
    expect(await logsOf(build.id)).toContain(`Pushed ${build.imageRef}@${build.imageDigest}`);

    const endpoint = deployment.replicas[0]?.endpoint;
    expect(endpoint).toBeTruthy();
    const page = await fetch(`http://${endpoint}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe("hello from the first commit\n");
  });

  it("serves the new content after a second push, and removes the old container", async () => {
    const secondSha = await repo.commit({ "www/index.html": "hello from the second commit\n" }, "Second");
    const { deployment } = await buildAndServe(secondSha);
    const endpoint = deployment.replicas[0]?.endpoint;
    const page = await fetch(`http://${endpoint}/`);
    expect(await page.text()).toBe("hello from the second commit\n");

    // The old replica left the route when the new one was healthy; after its drain period the
    // agent removes its container (reported in its next inventory).
    const containers = await eventually(
      () => containersWithLabel(`slipway.service=${serviceId}`),
      (list) => list.length === 1,
      { timeoutMs: 60_000, what: "the old replica's removal" },
    );
    expect(containers).toEqual([{ id: deployment.replicas[0]?.containerId, running: true }]);
  });

  it("ignores a redelivery of a delivery it already handled", async () => {
    const before = await api.ok<unknown[]>("GET", `/api/builds?serviceId=${serviceId}`);
    const again = await push(firstSha, firstDeliveryId);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ duplicate: true, buildIds: [] });
    expect(await api.ok<unknown[]>("GET", `/api/builds?serviceId=${serviceId}`)).toHaveLength(before.length);
  });

  it("rejects a push with a wrong signature and creates nothing", async () => {
    const before = await api.ok<unknown[]>("GET", `/api/builds?serviceId=${serviceId}`);
    const delivery = await signedDelivery(
      "not-the-secret-at-all",
      "push",
      pushPayload({ repositoryId, branch: "main", sha: firstSha }),
    );
    const response = await fetch(`${controlPlane.httpUrl}/api/webhooks/github`, {
      method: "POST",
      headers: delivery.headers,
      body: delivery.body,
    });
    expect(response.status).toBe(401);
    expect(await api.ok<unknown[]>("GET", `/api/builds?serviceId=${serviceId}`)).toHaveLength(before.length);
    const deliveries = await api.ok<{ deliveryId: string }[]>("GET", "/api/webhook-deliveries");
    expect(deliveries.map((d) => d.deliveryId)).not.toContain(delivery.headers["x-github-delivery"]);
  });
});
