// Two control-plane processes on one database and Redis behave as one: a push received by one is
// built by an agent connected to the other, and a cancel issued on either reaches the agent at once
// (Postgres NOTIFY), not at its next heartbeat.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type ApiClient } from "../test-support/api.js";
import { isRunning } from "../test-support/host.js";
import type { ControlPlaneProcess } from "../test-support/processes.js";
import { startSlowBuildStack, type Build, type SlowBuildStack } from "../test-support/slow-build.js";
import { pushPayload, signedDelivery } from "../test-support/webhooks.js";

describe("two control planes on one database", () => {
  let stack: SlowBuildStack;
  let second: ControlPlaneProcess;
  let viaFirst: ApiClient;
  let viaSecond: ApiClient;

  beforeAll(async () => {
    stack = await startSlowBuildStack({
      controlPlanes: 2,
      // Long leases and heartbeats every minute: only the session stream can carry a cancel quickly.
      controlPlaneEnv: { LEASE_SECONDS: "600" },
      agentEnv: { KILL_GRACE_SECONDS: "1", HEARTBEAT_SECONDS: "60" },
    });
    second = stack.controlPlanes[1] as ControlPlaneProcess;
    [viaFirst, viaSecond] = stack.apis as [ApiClient, ApiClient];
  });

  afterAll(() => stack?.close());

  it("builds a push received by the other one, and a cancel issued there reaches the agent at once", async () => {
    const delivery = await signedDelivery(
      stack.webhookSecret,
      "push",
      pushPayload({ repositoryId: stack.repositoryId, branch: "main", sha: stack.headSha }),
    );
    // The push reaches the second control plane; the agent is connected to the first.
    const response = await fetch(`${second.httpUrl}/api/webhooks/github`, {
      method: "POST",
      headers: delivery.headers,
      body: delivery.body,
    });
    expect(response.status).toBe(202);
    const buildId = ((await response.json()) as { buildIds: string[] }).buildIds[0] as string;
    await eventually(
      () => isRunning(stack.sleeper),
      (alive) => alive,
      { timeoutMs: 120_000, what: "the RUN step" },
    );

    // Cancelled through the second control plane: NOTIFY carries it to the first, which holds the
    // agent's stream. The agent's next heartbeat is a minute away; this must not wait for it.
    expect((await viaSecond.request("POST", `/api/builds/${buildId}/cancel`)).status).toBe(202);
    const done = await eventually(
      () => viaFirst.ok<Build>("GET", `/api/builds/${buildId}`),
      (b) => b.status === "cancelled",
      { timeoutMs: 30_000, what: "the cancel to reach the agent" },
    );
    expect(done.history.at(-1)?.actor).toMatch(/^agent:/);
    expect(await isRunning(stack.sleeper)).toBe(false);
    // It came over the session stream (the agent says "cancelling work"), not in a heartbeat reply.
    expect(stack.agent.lines.some((line) => line.includes('"msg":"cancelling work"'))).toBe(true);
    expect(stack.agent.lines.some((line) => line.includes("control plane says stop"))).toBe(false);
  });
});
