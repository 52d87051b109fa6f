// A whole stack around a build that never ends by itself: a database, a git server with a repository
// whose RUN step sleeps, one or more control-plane processes, an agent and a service. Tests of
// stopping work (cancel, crash, several control planes) start from here.
import { randomBytes, randomInt } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiClient, type ApiClient } from "./api.js";
import { createTestDatabase, type TestDatabase } from "./database.js";
import { startGitServer, type GitServer } from "./git-server.js";
import { createRepo } from "./git-repo.js";
import {
  startAgentProcess,
  startControlPlaneProcess,
  type ChildHandle,
  type ControlPlaneProcess,
} from "./processes.js";
import { BASE_IMAGE, REGISTRY_HOST } from "./registry.js";
import { freePort } from "./host.js";
import { startPartitionProxy, type PartitionProxy } from "./partition-proxy.js";

export interface Build {
  id: string;
  status: string;
  statusReason: string | null;
  attempt: number;
  history: { to: string; actor: string; reason: string | null }[];
}

export interface SlowBuildStack {
  /** The RUN step's command line, unique to this stack, to find its process with isRunning(). */
  sleeper: string;
  headSha: string;
  webhookSecret: string;
  repositoryId: number;
  controlPlanes: ControlPlaneProcess[];
  /** One API client per control plane. */
  apis: ApiClient[];
  /** The agent, connected to the first control plane; a test that restarts it assigns the new one. */
  agent: ChildHandle;
  /** The agent's environment without its join token: enough to start it again once enrolled. */
  agentEnv: Record<string, string>;
  /** The (spent) join token the agent enrolled with. */
  joinToken: string;
  /** Between the agent and the first control plane, when asked for (`partitionable`). */
  proxy: PartitionProxy | undefined;
  /**
   * Kills a control plane (SIGKILL: no goodbye) and starts it again on the same ports, so agents
   * and API clients find it where it was.
   */
  restartControlPlane(index: number): Promise<void>;
  serviceId: string;
  close(): Promise<void>;
}

export async function startSlowBuildStack(options: {
  controlPlanes?: number;
  controlPlaneEnv?: Record<string, string>;
  agentEnv?: Record<string, string>;
  /** The build's RUN step; by default `echo step-started && <sleeper>`, which never ends by itself. */
  runStep?: string;
  /** The repository's files instead (a Containerfile among them); `runStep` is then unused. */
  files?: Record<string, string>;
  /** The agent deploys too (capabilities and work kinds build and deploy). */
  deploys?: boolean;
  /** Route the agent through a PartitionProxy. */
  partitionable?: boolean;
}): Promise<SlowBuildStack> {
  const token = randomBytes(32).toString("hex");
  const webhookSecret = randomBytes(24).toString("hex");
  const repositoryId = randomInt(1_000_000, 2_000_000_000);
  const sleeper = `sleep ${randomInt(100_000, 999_999)}`;
  const cleanups: (() => Promise<unknown>)[] = [];
  const database: TestDatabase = await createTestDatabase();
  cleanups.push(() => database.drop());
  const gitRoot = await mkdtemp(join(tmpdir(), "slipway-slow-git-"));
  const stateDir = await mkdtemp(join(tmpdir(), "slipway-slow-agent-"));
  cleanups.push(
    () => rm(gitRoot, { recursive: true, force: true }),
    () => rm(stateDir, { recursive: true, force: true }),
  );
  const git: GitServer = await startGitServer(gitRoot);
  cleanups.push(() => git.close());
  const repo = await createRepo(gitRoot, "slow");
  const headSha = await repo.commit(
    options.files ?? {
      Containerfile: `FROM ${BASE_IMAGE}\nRUN ${options.runStep ?? `echo step-started && ${sleeper}`}\n`,
    },
    "Slow",
  );

  const controlPlanes: ControlPlaneProcess[] = [];
  const controlPlaneEnvs: Record<string, string>[] = [];
  for (let i = 0; i < (options.controlPlanes ?? 1); i++) {
    // Fixed ports, so a restarted control plane is found where it was.
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      SLIPWAY_BOOTSTRAP_TOKEN: token,
      GITHUB_WEBHOOK_SECRET: webhookSecret,
      REGISTRY_HOST,
      HTTP_PORT: String(await freePort()),
      GRPC_PORT: String(await freePort()),
      ...options.controlPlaneEnv,
    };
    controlPlaneEnvs.push(env);
    controlPlanes.push(await startControlPlaneProcess(env));
  }
  cleanups.push(async () => {
    for (const controlPlane of controlPlanes) await controlPlane.stop();
  });
  const proxy = options.partitionable
    ? await startPartitionProxy((controlPlanes[0] as ControlPlaneProcess).grpcAddress)
    : undefined;
  if (proxy) cleanups.push(() => proxy.close());
  const apis = controlPlanes.map((cp) => apiClient(cp.httpUrl, token));
  const api = apis[0] as ApiClient;
  const { joinToken } = await api.ok<{ joinToken: string }>("POST", "/api/agents", {
    name: "slow-agent",
    capabilities: options.deploys ? ["build", "deploy"] : ["build"],
  });
  const agentEnv = {
    SLIPWAY_SERVER: proxy?.address ?? (controlPlanes[0] as ControlPlaneProcess).grpcAddress,
    SLIPWAY_STATE_DIR: stateDir,
    SLIPWAY_WORK_KINDS: options.deploys ? "build,deploy" : "build",
    ...options.agentEnv,
  };
  const agent = await startAgentProcess({ ...agentEnv, SLIPWAY_JOIN_TOKEN: joinToken });
  const projectId = (await api.ok<{ id: string }>("POST", "/api/projects", { name: "slow" })).id;
  const serviceId = (
    await api.ok<{ id: string }>("POST", `/api/projects/${projectId}/services`, {
      name: "slow",
      gitUrl: `${git.url}${repo.path}`,
      githubRepoId: repositoryId,
      branch: "main",
      containerPort: 8080,
    })
  ).id;

  const stack: SlowBuildStack = {
    sleeper,
    headSha,
    webhookSecret,
    repositoryId,
    controlPlanes,
    apis,
    agent,
    agentEnv,
    joinToken,
    proxy,
    serviceId,
    async restartControlPlane(index) {
      const old = controlPlanes[index] as ControlPlaneProcess;
      const exited = new Promise((resolve) => old.process.once("exit", resolve));
      old.process.kill("SIGKILL");
      await exited;
      controlPlanes[index] = await startControlPlaneProcess(controlPlaneEnvs[index] as Record<string, string>);
    },
    async close() {
      await stack.agent.stop();
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
  return stack;
}
