// Cancelling a running build stops everything it started — including a RUN step, which podman runs
// outside its own process group — and the build ends as cancelled, with its log kept.
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

const TOKEN = randomBytes(32).toString("hex");

interface Build {
  id: string;
  status: string;
  statusReason: string | null;
  history: { to: string; actor: string }[];
}

describe("cancelling a running build", () => {
  let database: TestDatabase;
  let gitRoot: string;
  let stateDir: string;
  let git: GitServer;
  let controlPlane: ControlPlaneProcess;
  let agent: ChildHandle;
  let api: ApiClient;
  let serviceId: string;
  // A sleep unique to this run, so the test can find (or miss) exactly this RUN step's process.
  const sleeper = `sleep ${randomInt(100_000, 999_999)}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    gitRoot = await mkdtemp(join(tmpdir(), "slipway-cancel-git-"));
    stateDir = await mkdtemp(join(tmpdir(), "slipway-cancel-agent-"));
    git = await startGitServer(gitRoot);
    const repo = await createRepo(gitRoot, "slow");
    await repo.commit(
      { Containerfile: `FROM ${BASE_IMAGE}\nRUN echo step-started && ${sleeper}\n` },
      "A build that never ends by itself",
    );
    controlPlane = await startControlPlaneProcess({
      DATABASE_URL: database.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      SLIPWAY_BOOTSTRAP_TOKEN: TOKEN,
      REGISTRY_HOST,
    });
    api = apiClient(controlPlane.httpUrl, TOKEN);
    const { joinToken } = await api.ok<{ joinToken: string }>("POST", "/api/agents", {
      name: "canceller",
      capabilities: ["build"],
    });
    agent = await startAgentProcess({
      SLIPWAY_SERVER: controlPlane.grpcAddress,
      SLIPWAY_JOIN_TOKEN: joinToken,
      SLIPWAY_STATE_DIR: stateDir,
      KILL_GRACE_SECONDS: "2",
      SLIPWAY_WORK_KINDS: "build",
    });
    const projectId = (await api.ok<{ id: string }>("POST", "/api/projects", { name: "cancel" })).id;
    serviceId = (
      await api.ok<{ id: string }>("POST", `/api/projects/${projectId}/services`, {
        name: "slow",
        gitUrl: `${git.url}${repo.path}`,
        branch: "main",
        containerPort: 8080,
      })
    ).id;
  });

  afterAll(async () => {
    await agent?.stop();
    await controlPlane?.stop();
    await git?.close();
    await database?.drop();
    await rm(gitRoot, { recursive: true, force: true });
    await rm(stateDir, { recursive: true, force: true });
  });

  it("stops the RUN step's processes, cleans up, and ends the build as cancelled", async () => {
    const build = await api.ok<Build>("POST", `/api/services/${serviceId}/builds`);
    const logText = async () =>
      (await api.ok<{ chunks: { text: string }[] }>("GET", `/api/builds/${build.id}/logs`)).chunks
        .map((c) => c.text)
        .join("");
    await eventually(logText, (text) => text.includes("step-started"), { timeoutMs: 120_000, what: "the RUN step" });
    await eventually(
      () => isRunning(sleeper),
      (alive) => alive,
      { timeoutMs: 30_000, what: "the RUN step's process" },
    );

    const cancelled = await api.request("POST", `/api/builds/${build.id}/cancel`);
    expect(cancelled.status).toBe(202);
    const done = await eventually(
      () => api.ok<Build>("GET", `/api/builds/${build.id}`),
      (b) => ["completed", "failed", "cancelled"].includes(b.status),
      { timeoutMs: 60_000, what: "the cancelled build" },
    );
    expect(done).toMatchObject({ status: "cancelled", statusReason: "cancelled by a user" });
    expect(done.history.at(-1)).toMatchObject({ to: "cancelled", actor: expect.stringMatching(/^agent:/) });
    expect(await isRunning(sleeper)).toBe(false);
    expect(await logText()).toContain("==> Cancelled: cancelled by a user");

    // A finished build cannot be cancelled again; it can be retried as a new, linked build.
    expect((await api.request("POST", `/api/builds/${build.id}/cancel`)).status).toBe(409);
    const retry = await api.ok<{ id: string; retryOf: string; trigger: string }>(
      "POST",
      `/api/builds/${build.id}/retry`,
    );
    expect(retry).toMatchObject({ retryOf: build.id, trigger: "retry" });
    expect((await api.request("POST", `/api/builds/${retry.id}/cancel`)).status).toBe(202);
    await eventually(
      () => api.ok<Build>("GET", `/api/builds/${retry.id}`),
      (b) => b.status === "cancelled",
      { timeoutMs: 60_000, what: "the cancelled retry" },
    );
    await eventually(
      () => isRunning(sleeper),
      (alive) => !alive,
      { timeoutMs: 30_000, what: "no RUN step left" },
    );
  });
});
