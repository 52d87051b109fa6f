// Two control-plane processes on one database and Redis behave as one: a push received by one is
// built by an agent connected to the other, and a cancel issued on either reaches the agent at once
// (Postgres NOTIFY), not at its next heartbeat.
import { randomBytes, randomInt } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRunning } from "../test-support/host.js";
import { apiClient, eventually, type ApiClient } from "../test-support/api.js";
import { createTestDatabase, type TestDatabase } from "../test-support/database.js";
import { startGitServer, type GitServer } from "../test-support/git-server.js";
import { createRepo } from "../test-support/git-repo.js";
import {
  startAgentProcess,
  startControlPlaneProcess,
  type ChildHandle,
  type ControlPlaneProcess,
} from "../test-support/processes.js";
import { BASE_IMAGE, REGISTRY_HOST } from "../test-support/registry.js";
import { pushPayload, signedDelivery } from "../test-support/webhooks.js";

const TOKEN = randomBytes(32).toString("hex");
const SECRET = randomBytes(24).toString("hex");

describe("two control planes on one database", () => {
  let database: TestDatabase;
  let gitRoot: string;
  let stateDir: string;
  let git: GitServer;
  let first: ControlPlaneProcess;
  let second: ControlPlaneProcess;
  let agent: ChildHandle;
  let viaFirst: ApiClient;
  let viaSecond: ApiClient;
  const repositoryId = randomInt(1_000_000, 2_000_000_000);
  const sleeper = `sleep ${randomInt(100_000, 999_999)}`;
  let headSha: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    gitRoot = await mkdtemp(join(tmpdir(), "slipway-two-git-"));
    stateDir = await mkdtemp(join(tmpdir(), "slipway-two-agent-"));
    git = await startGitServer(gitRoot);
    const repo = await createRepo(gitRoot, "slow");
    headSha = await repo.commit({ Containerfile: `FROM ${BASE_IMAGE}\nRUN echo step-started && ${sleeper}\n` }, "Slow");
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      SLIPWAY_BOOTSTRAP_TOKEN: TOKEN,
      GITHUB_WEBHOOK_SECRET: SECRET,
      REGISTRY_HOST,
      // Long leases: the agent's next heartbeat is a minute away, so only the stream can carry a cancel.
      LEASE_SECONDS: "600",
    };
    first = await startControlPlaneProcess(env);
    second = await startControlPlaneProcess(env);
    viaFirst = apiClient(first.httpUrl, TOKEN);
    viaSecond = apiClient(second.httpUrl, TOKEN);
    const { joinToken } = await viaFirst.ok<{ joinToken: string }>("POST", "/api/agents", {
      name: "two",
      capabilities: ["build"],
    });
    // Heartbeats every minute: a cancel that arrives quickly came over the session stream.
    agent = await startAgentProcess({
      SLIPWAY_SERVER: first.grpcAddress,
      SLIPWAY_JOIN_TOKEN: joinToken,
      SLIPWAY_STATE_DIR: stateDir,
      KILL_GRACE_SECONDS: "1",
      HEARTBEAT_SECONDS: "60",
      SLIPWAY_WORK_KINDS: "build",
    });
    const projectId = (await viaFirst.ok<{ id: string }>("POST", "/api/projects", { name: "two" })).id;
    await viaFirst.ok("POST", `/api/projects/${projectId}/services`, {
      name: "slow",
      gitUrl: `${git.url}${repo.path}`,
      githubRepoId: repositoryId,
      branch: "main",
      containerPort: 8080,
    });
  });

  afterAll(async () => {
    await agent?.stop();
    await first?.stop();
    await second?.stop();
    await git?.close();
    await database?.drop();
    await rm(gitRoot, { recursive: true, force: true });
    await rm(stateDir, { recursive: true, force: true });
  });

  it("builds a push received by the other one, and a cancel issued there reaches the agent at once", async () => {
    const delivery = await signedDelivery(SECRET, "push", pushPayload({ repositoryId, branch: "main", sha: headSha }));
    // The push reaches the second control plane; the agent is connected to the first.
    const response = await fetch(`${second.httpUrl}/api/webhooks/github`, {
      method: "POST",
      headers: delivery.headers,
      body: delivery.body,
    });
    expect(response.status).toBe(202);
    const buildId = ((await response.json()) as { buildIds: string[] }).buildIds[0] as string;
    await eventually(
      () => isRunning(sleeper),
      (alive) => alive,
      { timeoutMs: 120_000, what: "the RUN step" },
    );

    // Cancelled through the second control plane: NOTIFY carries it to the first, which holds the
    // agent's stream. The agent's next heartbeat is a minute away; this must not wait for it.
    expect((await viaSecond.request("POST", `/api/builds/${buildId}/cancel`)).status).toBe(202);
    const done = await eventually(
      () => viaFirst.ok<{ status: string; history: { actor: string }[] }>("GET", `/api/builds/${buildId}`),
      (b) => b.status === "cancelled",
      { timeoutMs: 30_000, what: "the cancel to reach the agent" },
    );
    expect(done.history.at(-1)?.actor).toMatch(/^agent:/);
    expect(await isRunning(sleeper)).toBe(false);
    // It came over the session stream (the agent says "cancelling work"), not in a heartbeat reply.
    expect(agent.lines.some((line) => line.includes('"msg":"cancelling work"'))).toBe(true);
    expect(agent.lines.some((line) => line.includes("control plane says stop"))).toBe(false);
  });
});
