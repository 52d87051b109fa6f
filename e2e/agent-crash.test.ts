// An agent killed mid-build (SIGKILL: no chance to clean up) leaves a RUN step running on its host.
// When it starts again it stops what it left behind and gives back the build it held (Release), so
// the build runs again as a new attempt at once, not when its lease expires.
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
  attempt: number;
  history: { to: string; actor: string; reason: string | null }[];
}

describe("an agent killed mid-build", () => {
  let database: TestDatabase;
  let gitRoot: string;
  let stateDir: string;
  let git: GitServer;
  let controlPlane: ControlPlaneProcess;
  let agent: ChildHandle;
  let api: ApiClient;
  let serviceId: string;
  const sleeper = `sleep ${randomInt(100_000, 999_999)}`;
  const agentEnv = () => ({
    SLIPWAY_SERVER: controlPlane.grpcAddress,
    SLIPWAY_STATE_DIR: stateDir,
    KILL_GRACE_SECONDS: "1",
    HEARTBEAT_SECONDS: "1",
    SLIPWAY_WORK_KINDS: "build",
  });

  beforeAll(async () => {
    database = await createTestDatabase();
    gitRoot = await mkdtemp(join(tmpdir(), "slipway-crash-git-"));
    stateDir = await mkdtemp(join(tmpdir(), "slipway-crash-agent-"));
    git = await startGitServer(gitRoot);
    const repo = await createRepo(gitRoot, "slow");
    await repo.commit({ Containerfile: `FROM ${BASE_IMAGE}\nRUN echo step-started && ${sleeper}\n` }, "Slow");
    controlPlane = await startControlPlaneProcess({
      DATABASE_URL: database.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      SLIPWAY_BOOTSTRAP_TOKEN: TOKEN,
      REGISTRY_HOST,
      // A long lease: the build must come back because the restarted agent gives it back, not
      // because its lease ran out.
      LEASE_SECONDS: "600",
    });
    api = apiClient(controlPlane.httpUrl, TOKEN);
    const { joinToken } = await api.ok<{ joinToken: string }>("POST", "/api/agents", {
      name: "crashy",
      capabilities: ["build"],
    });
    agent = await startAgentProcess({ ...agentEnv(), SLIPWAY_JOIN_TOKEN: joinToken });
    const projectId = (await api.ok<{ id: string }>("POST", "/api/projects", { name: "crash" })).id;
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

  it("stops the leftovers when it comes back, and the build runs again as attempt 2", async () => {
    const build = await api.ok<Build>("POST", `/api/services/${serviceId}/builds`);
    await eventually(
      () => isRunning(sleeper),
      (alive) => alive,
      { timeoutMs: 120_000, what: "the RUN step" },
    );

    agent.process.kill("SIGKILL");
    await new Promise((resolve) => agent.process.once("exit", resolve));
    // Nothing stopped it: the RUN step outlives the agent...
    expect(await isRunning(sleeper)).toBe(true);

    // ...until the agent starts again on the same host.
    agent = await startAgentProcess(agentEnv());
    // It gives the build back at once (Release), and claims it again.
    const again = await eventually(
      () => api.ok<Build>("GET", `/api/builds/${build.id}`),
      (b) => b.attempt === 2,
      { timeoutMs: 60_000, what: "the second attempt" },
    );
    expect(again.history).toContainEqual(
      expect.objectContaining({ to: "pending", actor: expect.stringMatching(/^agent:/) }),
    );
    expect(again.history.find((h) => h.actor === "system:reaper")).toBeUndefined();
    expect(
      agent.lines.some((line) => line.includes("stopped work a previous run left behind")),
      agent.lines.join("\n"),
    ).toBe(true);

    // The second attempt runs the step again; cancel it so the test ends.
    await eventually(
      () => isRunning(sleeper),
      (alive) => alive,
      { timeoutMs: 60_000, what: "the second RUN step" },
    );
    await api.ok("POST", `/api/builds/${build.id}/cancel`);
    await eventually(
      () => api.ok<Build>("GET", `/api/builds/${build.id}`),
      (b) => b.status === "cancelled",
      { timeoutMs: 60_000, what: "the cancelled build" },
    );
    await eventually(
      () => isRunning(sleeper),
      (alive) => !alive,
      { timeoutMs: 30_000, what: "no RUN step left" },
    );
  });
});
