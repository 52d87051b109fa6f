// The agent channel's keepalive with the settings it ships with, against the real control plane, on
// a connection left idle the way a quiet night leaves it: no polls, no heartbeats, no unary call in
// flight, only the open Session stream with nothing on it. This is the case where a peer enforcing a
// ping policy answers GOAWAY `too_many_pings`, and where a dropped link goes unnoticed unless
// keepalive notices it. grpc-js reports both in its own trace (GRPC_TRACE), which this test reads.
// A grpc-js server enforces no ping policy, so the GOAWAY checks guard against a change of server
// (or a proxy put in front of it) more than they test today's; the pings being answered, on one
// connection, and a silent link being noticed by a ping are what today's code must show.
import { afterEach, describe, expect, it } from "vitest";
import { eventually, type ApiClient } from "../test-support/api.js";
import { startSlowBuildStack, type Build, type SlowBuildStack } from "../test-support/slow-build.js";
import type { ChildHandle } from "../test-support/processes.js";

const TRACE = { GRPC_TRACE: "keepalive,transport", GRPC_VERBOSITY: "DEBUG" };

describe("agent channel keepalive", () => {
  let stack: SlowBuildStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  const count = (process: ChildHandle, text: string) => process.lines.filter((line) => line.includes(text)).length;
  /** Resolves when `process` has printed `text` `times` times in all. */
  const untilPrinted = (process: ChildHandle, text: string, times: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (count(process, text) < times) return;
        process.events.off("line", check);
        resolve();
      };
      process.events.on("line", check);
      check();
    });

  // Rounds of 20 and 30 s are what is under test, so this takes over a minute.
  it("keeps one connection through several ping rounds, and notices a link gone silent by keepalive alone", async () => {
    stack = await startSlowBuildStack({
      partitionable: true,
      controlPlaneEnv: TRACE,
      // Nothing but keepalive crosses the connection while the agent idles.
      agentEnv: { ...TRACE, POLL_SECONDS: "600", HEARTBEAT_SECONDS: "600" },
    });
    const agent = stack.agent;
    const controlPlane = stack.controlPlanes[0] as ChildHandle;
    const api = stack.apis[0] as ApiClient;

    // Two rounds of the agent's pings (every 20 s) and one of the control plane's (every 30 s), all
    // answered, on the connection the agent opened first.
    await Promise.all([
      untilPrinted(agent, "Received ping response", 2),
      untilPrinted(controlPlane, "Received ping response", 1),
    ]);
    for (const process of [agent, controlPlane]) {
      expect(count(process, "GOAWAY")).toBe(0);
      expect(count(process, "too_many_pings")).toBe(0);
    }
    // Every answer came on one connection, which nothing closed (the join's connection closed before).
    const pinged = agent.lines.flatMap((line) => /\((\d+)\) \S+ Received ping response/.exec(line)?.[1] ?? []);
    expect(new Set(pinged).size).toBe(1);
    const sinceFirstPing = agent.lines.slice(agent.lines.findIndex((line) => line.includes("Sending ping")));
    expect(sinceFirstPing.filter((line) => line.includes("connection closed"))).toEqual([]);
    expect(count(agent, "session stream lost")).toBe(0);

    // The link goes silent (packets dropped, nothing closed). With no unary call in flight and
    // nothing on the stream, only the next unanswered ping can tell the agent, and it must.
    stack.proxy?.cut();
    await untilPrinted(agent, "Ping timeout passed without response", 1);
    await untilPrinted(agent, "session stream lost; reconnecting", 1);

    // Once the link is back the agent reconnects by itself and takes new work at once, though it
    // polls only every ten minutes.
    stack.proxy?.heal();
    const build = await api.ok<Build>("POST", `/api/services/${stack.serviceId}/builds`);
    const claimed = await eventually(
      () => api.ok<Build>("GET", `/api/builds/${build.id}`),
      (b) => b.status !== "pending",
      { timeoutMs: 60_000, what: "the build to be claimed" },
    );
    expect(claimed.attempt).toBe(1);
  }, 180_000);
});
