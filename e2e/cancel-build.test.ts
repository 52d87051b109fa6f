// Cancelling a running build stops everything it started — including a RUN step, which podman runs
// outside its own process group — and the build ends as cancelled, with its log kept.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type ApiClient } from "../test-support/api.js";
import { isRunning } from "../test-support/host.js";
import { startSlowBuildStack, type Build, type SlowBuildStack } from "../test-support/slow-build.js";

describe("cancelling a running build", () => {
  let stack: SlowBuildStack;
  let api: ApiClient;

  beforeAll(async () => {
    stack = await startSlowBuildStack({ agentEnv: { KILL_GRACE_SECONDS: "2" } });
    api = stack.apis[0] as ApiClient;
  });

  afterAll(() => stack?.close());

  it("stops the RUN step's processes, cleans up, and ends the build as cancelled", async () => {
    const build = await api.ok<Build>("POST", `/api/services/${stack.serviceId}/builds`);
    const logText = async () =>
      (await api.ok<{ chunks: { text: string }[] }>("GET", `/api/builds/${build.id}/logs`)).chunks
        .map((c) => c.text)
        .join("");
    await eventually(logText, (text) => text.includes("step-started"), { timeoutMs: 120_000, what: "the RUN step" });
    await eventually(
      () => isRunning(stack.sleeper),
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
    expect(await isRunning(stack.sleeper)).toBe(false);
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
      () => isRunning(stack.sleeper),
      (alive) => !alive,
      { timeoutMs: 30_000, what: "no RUN step left" },
    );
  });
});
