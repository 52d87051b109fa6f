// An agent killed mid-build (SIGKILL: no chance to clean up) leaves a RUN step running on its host.
// When it starts again it stops what it left behind and gives back the build it held (Release), so
// the build runs again as a new attempt at once, not when its lease expires.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type ApiClient } from "../test-support/api.js";
import { isRunning } from "../test-support/host.js";
import { startAgentProcess } from "../test-support/processes.js";
import { startSlowBuildStack, type Build, type SlowBuildStack } from "../test-support/slow-build.js";

describe("an agent killed mid-build", () => {
  let stack: SlowBuildStack;
  let api: ApiClient;

  beforeAll(async () => {
    stack = await startSlowBuildStack({
      // A long lease: the build must come back because the restarted agent gives it back, not
      // because its lease ran out.
      controlPlaneEnv: { LEASE_SECONDS: "600" },
      agentEnv: { KILL_GRACE_SECONDS: "1", HEARTBEAT_SECONDS: "1" },
    });
    api = stack.apis[0] as ApiClient;
  });

  afterAll(() => stack?.close());

  it("stops the leftovers when it comes back, and the build runs again as attempt 2", async () => {
    const build = await api.ok<Build>("POST", `/api/services/${stack.serviceId}/builds`);
    await eventually(
      () => isRunning(stack.sleeper),
      (alive) => alive,
      { timeoutMs: 120_000, what: "the RUN step" },
    );

    stack.agent.process.kill("SIGKILL");
    await new Promise((resolve) => stack.agent.process.once("exit", resolve));
    // Nothing stopped it: the RUN step outlives the agent...
    expect(await isRunning(stack.sleeper)).toBe(true);

    // ...until the agent starts again on the same host.
    stack.agent = await startAgentProcess(stack.agentEnv);
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
      stack.agent.lines.some((line) => line.includes("stopped work a previous run left behind")),
      stack.agent.lines.join("\n"),
    ).toBe(true);

    // The second attempt runs the step again; cancel it so the test ends.
    await eventually(
      () => isRunning(stack.sleeper),
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
      () => isRunning(stack.sleeper),
      (alive) => !alive,
      { timeoutMs: 30_000, what: "no RUN step left" },
    );
  });
});
