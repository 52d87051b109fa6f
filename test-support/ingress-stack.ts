// A whole deploying stack behind a real Caddy: a database, a git server with the service's
// repository, a control plane that configures Caddy through its admin API, agents started on
// demand, and one service with a stable URL. Tests of rollouts and of replicas that move between
// agents start from here; pushes go through the signed webhook, as GitHub sends them.
import { randomBytes, randomInt } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { apiClient, eventually, type ApiClient } from "./api.js";
import { startCaddy, type TestCaddy } from "./caddy.js";
import { containersWithLabel, removeContainersWithLabel } from "./containers.js";
import { createTestDatabase, type TestDatabase } from "./database.js";
import { startGitServer, type GitServer } from "./git-server.js";
import { createRepo, type TestRepo } from "./git-repo.js";
import {
  startAgentProcess,
  startControlPlaneProcess,
  type ChildHandle,
  type ControlPlaneProcess,
} from "./processes.js";
import { REGISTRY_HOST } from "./registry.js";
import type { TrafficReport } from "./traffic.js";
import { pushPayload, signedDelivery } from "./webhooks.js";

export interface Deployment {
  id: string;
  buildId: string;
  status: string;
  reason: string | null;
  /** Why it was made: auto, manual, rollback, restart, scale, … */
  trigger?: string;
  replicas: { status: string; endpoint: string | null; containerId: string | null; agentId: string | null }[];
}

export interface StackAgent {
  id: string;
  handle: ChildHandle;
  /** Its environment once enrolled (state directory, no join token): enough to start it again. */
  env: Record<string, string>;
}

export interface IngressStack {
  api: ApiClient;
  /** The bootstrap token `api` sends, for tests that make their own requests. */
  token: string;
  /** The control plane that manages Caddy; agents connect to it. */
  controlPlane: ControlPlaneProcess;
  /** More control planes on the same database and Redis, without the ingress (`otherControlPlanes`). */
  otherControlPlanes: ControlPlaneProcess[];
  database: TestDatabase;
  caddy: TestCaddy;
  repo: TestRepo;
  projectName: string;
  projectId: string;
  serviceId: string;
  /** The service's stable address. */
  url: string;
  /** Enrols and starts an agent; `env` adds to (or overrides) its defaults. */
  startAgent(name: string, capabilities: string[], env?: Record<string, string>): Promise<StackAgent>;
  /** Starts an agent again (after it stopped or was killed) with the identity it enrolled with. */
  restartAgent(agent: StackAgent): Promise<void>;
  /** Commits `files` and pushes the commit; returns the build id the push created. */
  push(files: Record<string, string>, message: string): Promise<string>;
  /** The deployment of a build once it has ended. */
  deploymentOf(buildId: string): Promise<Deployment>;
  /** A deployment once it has ended. */
  ended(deploymentId: string): Promise<Deployment>;
  /** Waits until only `deployment`'s containers are left: the old ones drained and removed. */
  onlyContainersOf(deployment: Deployment): Promise<void>;
  close(): Promise<void>;
}

const SECRET = `whsec-${randomBytes(16).toString("hex")}`;

export async function startIngressStack(options: {
  controlPlaneEnv?: Record<string, string>;
  /** Settings of the service besides its source (port 8080, 1 s drain and a quick health check by default). */
  service?: Record<string, unknown>;
  /** How many more control planes to start beside the first (default none). */
  otherControlPlanes?: number;
}): Promise<IngressStack> {
  const token = randomBytes(32).toString("hex");
  const repositoryId = randomInt(1_000_000, 2_000_000_000);
  const projectName = `zd-${randomBytes(3).toString("hex")}`;
  const cleanups: (() => Promise<unknown>)[] = [];
  const agents: ChildHandle[] = [];
  const close = async () => {
    for (const agent of agents) await agent.stop();
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const database: TestDatabase = await createTestDatabase();
    cleanups.push(() => database.drop());
    const gitRoot = await mkdtemp(join(tmpdir(), "slipway-git-"));
    cleanups.push(() => rm(gitRoot, { recursive: true, force: true }));
    const git: GitServer = await startGitServer(gitRoot);
    cleanups.push(() => git.close());
    const repo = await createRepo(gitRoot, `site-${randomBytes(4).toString("hex")}`);
    const caddy = await startCaddy();
    cleanups.push(() => caddy.stop());
    const controlPlane = await startControlPlaneProcess({
      DATABASE_URL: database.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      GITHUB_WEBHOOK_SECRET: SECRET,
      SLIPWAY_BOOTSTRAP_TOKEN: token,
      REGISTRY_HOST,
      INGRESS_CADDY_ADMIN: caddy.adminAddress,
      INGRESS_LISTEN: caddy.listen,
      INGRESS_BASE_DOMAIN: "localhost",
      // Test files run side by side: each resolver on a port of its own.
      INGRESS_RESOLVER_LISTEN: "127.0.0.1:0",
      LOG_LEVEL: "info",
      ...options.controlPlaneEnv,
    });
    // Stopped after the agents (close() stops those first), before Caddy and the database.
    cleanups.push(() => controlPlane.stop());
    const otherControlPlanes: ControlPlaneProcess[] = [];
    for (let i = 0; i < (options.otherControlPlanes ?? 0); i++) {
      const other = await startControlPlaneProcess({
        DATABASE_URL: database.url,
        REDIS_URL: "redis://127.0.0.1:6379",
        GITHUB_WEBHOOK_SECRET: SECRET,
        SLIPWAY_BOOTSTRAP_TOKEN: token,
        REGISTRY_HOST,
        LOG_LEVEL: "info",
        ...options.controlPlaneEnv,
      });
      otherControlPlanes.push(other);
      cleanups.push(() => other.stop());
    }
    const api = apiClient(controlPlane.httpUrl, token);
    const projectId = (await api.ok<{ id: string }>("POST", "/api/projects", { name: projectName })).id;
    cleanups.push(() => removeContainersWithLabel(`slipway.project=${projectId}`));
    const service = await api.ok<{ id: string; url: string }>("POST", `/api/projects/${projectId}/services`, {
      name: "site",
      gitUrl: `${git.url}${repo.path}`,
      githubRepoId: repositoryId,
      branch: "main",
      containerPort: 8080,
      drainSeconds: 1,
      healthCheck: { type: "http", path: "/", intervalMs: 200 },
      ...options.service,
    });
    const serviceId = service.id;

    const startAgent = async (name: string, capabilities: string[], env: Record<string, string> = {}) => {
      const { agent, joinToken } = await api.ok<{ agent: { id: string }; joinToken: string }>("POST", "/api/agents", {
        name,
        capabilities,
      });
      const stateDir = await mkdtemp(join(tmpdir(), "slipway-agent-"));
      cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
      const agentEnv = {
        SLIPWAY_SERVER: controlPlane.grpcAddress,
        SLIPWAY_STATE_DIR: stateDir,
        KILL_GRACE_SECONDS: "5",
        INVENTORY_SECONDS: "0.5",
        ...env,
      };
      const handle = await startAgentProcess({ ...agentEnv, SLIPWAY_JOIN_TOKEN: joinToken });
      agents.push(handle);
      return { id: agent.id, handle, env: agentEnv };
    };
    const restartAgent = async (agent: StackAgent) => {
      agent.handle = await startAgentProcess(agent.env);
      agents.push(agent.handle);
    };

    const push = async (files: Record<string, string>, message: string) => {
      const sha = await repo.commit(files, message);
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
    };

    const deploymentOf = (buildId: string) =>
      eventually(
        async () =>
          (await api.ok<Deployment[]>("GET", `/api/services/${serviceId}/deployments`)).find(
            (d) => d.buildId === buildId,
          ),
        (d) => d !== undefined && ["succeeded", "failed", "cancelled"].includes(d.status),
        { timeoutMs: 240_000, what: `the deployment of build ${buildId}` },
      ) as Promise<Deployment>;

    const ended = (deploymentId: string) =>
      eventually(
        () => api.ok<Deployment>("GET", `/api/deployments/${deploymentId}`),
        (d) => ["succeeded", "failed", "cancelled"].includes(d.status),
        { timeoutMs: 240_000, what: `deployment ${deploymentId}` },
      );

    const onlyContainersOf = async (deployment: Deployment) => {
      const wanted = deployment.replicas.map((r) => r.containerId).sort();
      await eventually(
        async () => (await containersWithLabel(`slipway.service=${serviceId}`)).map((c) => c.id).sort(),
        (ids) => JSON.stringify(ids) === JSON.stringify(wanted),
        { timeoutMs: 60_000, what: "the old replicas' removal" },
      );
    };

    return {
      api,
      token,
      controlPlane,
      otherControlPlanes,
      database,
      caddy,
      repo,
      projectName,
      projectId,
      serviceId,
      url: service.url,
      startAgent,
      restartAgent,
      push,
      deploymentOf,
      ended,
      onlyContainersOf,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Prints what the traffic saw and asserts that no request failed and that every answer came from
 * one of `versions` (each page answers its version followed by a newline).
 */
export function expectNoFailedRequest(report: TrafficReport, versions: string[], what = "rollout"): void {
  console.log(
    `${what} traffic: ${report.sent} requests, ${report.failures.length} failed, ` +
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
