// Zero-downtime rollouts, measured on real parts: PostgreSQL, podman, the local registry, a git
// server and a real Caddy configured by the control plane through its admin API. A client keeps
// requesting the service's stable URL during every rollout; not one request may fail, and every
// answer comes from the old or the new version.
import { randomBytes, randomInt } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClient, eventually, type ApiClient } from "../test-support/api.js";
import { getThroughIngress, startCaddy, type TestCaddy } from "../test-support/caddy.js";
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
import { BASE_IMAGE, REGISTRY_HOST } from "../test-support/registry.js";
import { trafficDuring, type TrafficReport } from "../test-support/traffic.js";
import { pushPayload, signedDelivery } from "../test-support/webhooks.js";

const SECRET = `whsec-${randomBytes(16).toString("hex")}`;
const TOKEN = randomBytes(32).toString("hex");

interface Deployment {
  id: string;
  buildId: string;
  status: string;
  reason: string | null;
  replicas: { status: string; endpoint: string | null; containerId: string | null }[];
}

/** A static site whose page names its version; it prints a line when it starts. */
const site = (version: string) => ({
  Containerfile: [
    `FROM ${BASE_IMAGE}`,
    "COPY www /www",
    'CMD ["sh", "-c", "echo starting $(cat /www/index.html); exec httpd -f -p 8080 -h /www"]',
    "",
  ].join("\n"),
  "www/index.html": `${version}\n`,
});

describe("rollouts through the ingress", () => {
  let database: TestDatabase;
  let gitRoot: string;
  let stateDir: string;
  let git: GitServer;
  let repo: TestRepo;
  let caddy: TestCaddy;
  let controlPlane: ControlPlaneProcess;
  let agent: ChildHandle;
  let api: ApiClient;
  let projectId: string;
  let serviceId: string;
  let url: string;
  const repositoryId = randomInt(1_000_000, 2_000_000_000);
  const projectName = `zd-${randomBytes(3).toString("hex")}`;

  async function push(sha: string): Promise<string> {
    const delivery = await signedDelivery(SECRET, "push", pushPayload({ repositoryId, branch: "main", sha }));
    const response = await fetch(`${controlPlane.httpUrl}/api/webhooks/github`, {
      method: "POST",
      headers: delivery.headers,
      body: delivery.body,
    });
    expect(response.status).toBe(202);
    const { buildIds } = (await response.json()) as { buildIds: string[] };
    expect(buildIds).toHaveLength(1);
    return buildIds[0] as string;
  }

  /** Pushes a version and waits until its deployment ended; returns that deployment. */
  async function release(version: string): Promise<Deployment> {
    const buildId = await push(await repo.commit(site(version), version));
    return eventually(
      async () =>
        (await api.ok<Deployment[]>("GET", `/api/services/${serviceId}/deployments`)).find(
          (d) => d.buildId === buildId,
        ),
      (d) => d !== undefined && ["succeeded", "failed", "cancelled"].includes(d.status),
      { timeoutMs: 240_000, what: `the deployment of ${version}` },
    ) as Promise<Deployment>;
  }

  /** Waits until only the given deployment's containers are left: the old ones drained and removed. */
  async function onlyContainersOf(deployment: Deployment): Promise<void> {
    const wanted = deployment.replicas.map((r) => r.containerId).sort();
    await eventually(
      async () => (await containersWithLabel(`slipway.service=${serviceId}`)).map((c) => c.id).sort(),
      (ids) => JSON.stringify(ids) === JSON.stringify(wanted),
      { timeoutMs: 60_000, what: "the old replicas' removal" },
    );
  }

  function expectNoFailure(report: TrafficReport, versions: string[]): void {
    console.log(
      `rollout traffic: ${report.sent} requests, ${report.failures.length} failed, ` +
        `${report.retriedOnClosedConnection} sent again after Caddy closed an idle keep-alive connection, ` +
        `answers: ${JSON.stringify(Object.fromEntries(report.bodies))}`,
    );
    expect(report.failures).toEqual([]);
    expect([...report.bodies.keys()].sort()).toEqual(
      versions
        .map((v) => `${v}\n`)
        .filter((body) => report.bodies.has(body))
        .sort(),
    );
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    gitRoot = await mkdtemp(join(tmpdir(), "slipway-git-"));
    stateDir = await mkdtemp(join(tmpdir(), "slipway-agent-"));
    git = await startGitServer(gitRoot);
    repo = await createRepo(gitRoot, `site-${randomBytes(4).toString("hex")}`);
    caddy = await startCaddy();
    controlPlane = await startControlPlaneProcess({
      DATABASE_URL: database.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      GITHUB_WEBHOOK_SECRET: SECRET,
      SLIPWAY_BOOTSTRAP_TOKEN: TOKEN,
      REGISTRY_HOST,
      INGRESS_CADDY_ADMIN: caddy.adminAddress,
      INGRESS_LISTEN: caddy.listen,
      INGRESS_BASE_DOMAIN: "localhost",
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
      KILL_GRACE_SECONDS: "5",
      INVENTORY_SECONDS: "0.5",
    });
    projectId = (await api.ok<{ id: string }>("POST", "/api/projects", { name: projectName })).id;
    const service = await api.ok<{ id: string; url: string }>("POST", `/api/projects/${projectId}/services`, {
      name: "site",
      gitUrl: `${git.url}${repo.path}`,
      githubRepoId: repositoryId,
      branch: "main",
      containerPort: 8080,
      drainSeconds: 1,
      healthCheck: { type: "http", path: "/", intervalMs: 200 },
    });
    serviceId = service.id;
    url = service.url;
  });

  afterAll(async () => {
    await agent?.stop();
    await controlPlane?.stop();
    await caddy?.stop();
    if (projectId) await removeContainersWithLabel(`slipway.project=${projectId}`);
    await git?.close();
    await database?.drop();
    await rm(gitRoot, { recursive: true, force: true });
    await rm(stateDir, { recursive: true, force: true });
  });

  it("gives the service a stable address that answers once the first version is healthy", async () => {
    expect(url).toBe(`http://site-${projectName}.localhost:${caddy.port}`);
    // Routed, but nothing runs yet: a clear 503 rather than a connection error.
    await eventually(
      () => getThroughIngress(url).catch(() => ({ status: 0, body: "" })),
      (r) => r.status === 503,
      {
        timeoutMs: 30_000,
        what: "the service's route",
      },
    );
    const first = await release("v1");
    expect(first.status, first.reason ?? "").toBe("succeeded");
    expect(await getThroughIngress(url)).toEqual({ status: 200, body: "v1\n" });
    // An unknown host is not some other service.
    expect((await getThroughIngress(`http://nothing-here.localhost:${caddy.port}/`)).status).toBe(404);
  });

  it("rolls a new version out to one replica without a failed request", async () => {
    let deployment: Deployment | undefined;
    const report = await trafficDuring(url, async () => {
      deployment = await release("v2");
      expect(deployment.status, deployment.reason ?? "").toBe("succeeded");
      await onlyContainersOf(deployment);
    });
    expectNoFailure(report, ["v1", "v2"]);
    expect(report.bodies.get("v2\n")).toBeGreaterThan(0);
    expect((await api.ok<{ url: string }>("GET", `/api/services/${serviceId}`)).url).toBe(url);
  });

  it("rolls a new version out to three replicas without a failed request", async () => {
    await api.ok("PATCH", `/api/services/${serviceId}`, { replicas: 3 });
    let deployment: Deployment | undefined;
    const report = await trafficDuring(url, async () => {
      deployment = await release("v3");
      expect(deployment.status, deployment.reason ?? "").toBe("succeeded");
      await onlyContainersOf(deployment);
    });
    expectNoFailure(report, ["v2", "v3"]);
    expect(deployment?.replicas.map((r) => r.status)).toEqual(["running", "running", "running"]);
    // Requests are spread over the three replicas' containers, all serving v3.
    expect(await getThroughIngress(url)).toEqual({ status: 200, body: "v3\n" });
  });

  it("keeps the old version serving when the new one never becomes healthy, and says why", async () => {
    await api.ok("PATCH", `/api/services/${serviceId}`, {
      healthCheck: { type: "http", path: "/healthz", intervalMs: 100, retries: 3, startPeriodMs: 0 },
    });
    let deployment: Deployment | undefined;
    const report = await trafficDuring(url, async () => {
      deployment = await release("v4");
    });
    expectNoFailure(report, ["v3"]);
    expect(deployment?.status).toBe("failed");
    expect(deployment?.reason).toMatch(/health check failed 3 time\(s\) in a row: GET \/healthz/);
    // The replica's last output is kept with the reason.
    expect(deployment?.reason).toContain("starting v4");
    // Its containers are gone; v3's three keep serving.
    expect((await containersWithLabel(`slipway.service=${serviceId}`)).length).toBe(3);
    expect(await getThroughIngress(url)).toEqual({ status: 200, body: "v3\n" });
  });
});
