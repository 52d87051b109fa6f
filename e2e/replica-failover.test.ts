// Replicas that move between agents, on real parts (two agent processes sharing this host's podman,
// a real Caddy in front). The agent starting a new version is killed while the new replica warms
// up: its lease runs out, another agent starts the replica and finishes the rollout, and the old
// version keeps answering meanwhile. When the killed agent's host comes back, the containers it
// left behind (the old version's, no longer wanted) are removed, and nothing else.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../test-support/api.js";
import { getThroughIngress } from "../test-support/caddy.js";
import { containersWithLabel } from "../test-support/containers.js";
import {
  expectNoFailedRequest,
  startIngressStack,
  type IngressStack,
  type StackAgent,
} from "../test-support/ingress-stack.js";
import { BASE_IMAGE } from "../test-support/registry.js";
import { trafficDuring } from "../test-support/traffic.js";

/**
 * A static site naming its version. A version with `hold` answers only once /ready exists in its
 * container, which keeps its replica warming up (failing its health check) until the test says so.
 */
const site = (version: string, hold = false) => ({
  Containerfile: [
    `FROM ${BASE_IMAGE}`,
    "COPY www /www",
    'CMD ["sh", "-c", "if [ -e /www/hold ]; then while [ ! -e /ready ]; do sleep 0.1; done; fi; exec httpd -f -p 8080 -h /www"]',
    "",
  ].join("\n"),
  "www/index.html": `${version}\n`,
  ...(hold ? { "www/hold": "" } : {}),
});

describe("a replica whose agent is killed mid-rollout", () => {
  let stack: IngressStack;
  let first: StackAgent;

  beforeAll(async () => {
    stack = await startIngressStack({
      // Leases run out soon after an agent stops renewing them, and the reaper notices at once.
      controlPlaneEnv: { LEASE_SECONDS: "5", REAPER_INTERVAL_SECONDS: "1" },
      // Warming up may take as long as the test holds it.
      service: { healthCheck: { type: "http", path: "/", intervalMs: 200, startPeriodMs: 600_000 } },
    });
    first = await stack.startAgent("first", ["build", "deploy"], { HEARTBEAT_SECONDS: "1" });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it("is finished by another agent while the old version keeps serving; the stale container goes when its host returns", async () => {
    const v1 = await stack.deploymentOf(await stack.push(site("v1"), "v1"));
    expect(v1.status, v1.reason ?? "").toBe("succeeded");
    const v1Container = v1.replicas[0]?.containerId as string;
    const containers = () => containersWithLabel(`slipway.service=${stack.serviceId}`);

    let second: StackAgent | undefined;
    const report = await trafficDuring(stack.url, async () => {
      const buildId = await stack.push(site("v2", true), "v2");
      // The first agent builds v2 and starts its replica, which warms up beside v1's.
      const [warming] = await eventually(
        async () => (await containers()).filter((c) => c.id !== v1Container),
        (list) => list.length === 1 && list[0]?.running === true,
        { timeoutMs: 180_000, what: "v2's replica on the first agent" },
      );
      first.handle.process.kill("SIGKILL");
      await new Promise((resolve) => first.handle.process.once("exit", resolve));

      // Another agent takes the replica over once the lease is gone, and starts it afresh.
      second = await stack.startAgent("second", ["deploy"]);
      const [restarted] = await eventually(
        async () => (await containers()).filter((c) => c.id !== v1Container && c.id !== warming?.id),
        (list) => list.length === 1 && list[0]?.running === true,
        { timeoutMs: 60_000, what: "v2's replica on the second agent" },
      );
      await promisify(execFile)("podman", ["exec", restarted?.id as string, "touch", "/ready"]);

      const v2 = await stack.deploymentOf(buildId);
      expect(v2.status, v2.reason ?? "").toBe("succeeded");
      expect(v2.replicas.map((r) => [r.agentId, r.containerId])).toEqual([[second?.id, restarted?.id]]);
      // Routed to v2 only, once the ingress has it.
      await eventually(
        () => getThroughIngress(stack.url),
        (r) => r.body === "v2\n",
        { timeoutMs: 30_000, what: "v2 behind the URL" },
      );
    });
    expectNoFailedRequest(report, ["v1", "v2"], "failover");
    expect(report.bodies.get("v1\n")).toBeGreaterThan(0);

    // The first agent's host comes back: v1's container, out of the route and drained, is removed;
    // the second agent's replica is not the first agent's to touch.
    const serving = (await containers()).filter((c) => c.id !== v1Container);
    expect(serving).toHaveLength(1);
    expect((await containers()).map((c) => c.id)).toContain(v1Container);
    await stack.restartAgent(first);
    await eventually(
      async () => (await containers()).map((c) => c.id),
      (ids) => ids.length === 1 && ids[0] === serving[0]?.id,
      { timeoutMs: 60_000, what: "v1's stale container to be removed" },
    );
    expect(await getThroughIngress(stack.url)).toEqual({ status: 200, body: "v2\n" });
    // Two builds, a lease running out and a host coming back: its waits bound it, not the default.
  }, 180_000);
});
