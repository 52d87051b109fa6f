// An agent killed mid-build (SIGKILL: no chance to clean up) leaves a RUN step running on its host.
// When it starts again it stops what it left behind and names the build it held (Resume). The claim
// is still live, so the same attempt starts over at once, its log going on after a marker, instead
// of waiting for the lease to run out. Killed again within that attempt, it gives the build back,
// and the build runs as attempt 2: an agent that keeps crashing cannot hold a build forever.
// Killed while a new replica warms up, it adopts the container it had started (containers outlive
// the agent) instead of starting the replica twice.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type ApiClient } from "../test-support/api.js";
import { containersWithLabel, removeContainersWithLabel } from "../test-support/containers.js";
import { BASE_IMAGE } from "../test-support/registry.js";
import { isRunning } from "../test-support/host.js";
import { startAgentProcess } from "../test-support/processes.js";
import { startSlowBuildStack, type Build, type SlowBuildStack } from "../test-support/slow-build.js";

interface Chunk {
  attempt: number;
  seq: number;
  text: string;
}

const MARKER = "==> The agent restarted; attempt 1 starts over";

describe("an agent killed mid-build", () => {
  let stack: SlowBuildStack;
  let api: ApiClient;

  beforeAll(async () => {
    stack = await startSlowBuildStack({
      // A long lease: whatever happens to the build happens because the restarted agent asked, not
      // because its lease ran out.
      controlPlaneEnv: { LEASE_SECONDS: "600" },
      agentEnv: { KILL_GRACE_SECONDS: "1", HEARTBEAT_SECONDS: "1" },
    });
    api = stack.apis[0] as ApiClient;
  });

  afterAll(() => stack?.close());

  const readBuild = (id: string) => api.ok<Build>("GET", `/api/builds/${id}`);
  const chunks = async (id: string) => (await api.ok<{ chunks: Chunk[] }>("GET", `/api/builds/${id}/logs`)).chunks;
  const untilStep = (alive: boolean, what: string) =>
    eventually(
      () => isRunning(stack.sleeper),
      (running) => running === alive,
      { timeoutMs: 120_000, what },
    );
  async function killAndRestartAgent(): Promise<void> {
    stack.agent.process.kill("SIGKILL");
    await new Promise((resolve) => stack.agent.process.once("exit", resolve));
    // Nothing stopped it: the RUN step outlives the agent...
    expect(await isRunning(stack.sleeper)).toBe(true);
    // ...until the agent starts again on the same host.
    stack.agent = await startAgentProcess(stack.agentEnv);
  }

  it("starts the same attempt over when it comes back, and gives the build back when killed again", async () => {
    const build = await api.ok<Build>("POST", `/api/services/${stack.serviceId}/builds`);
    await untilStep(true, "the RUN step");
    await killAndRestartAgent();

    // The attempt starts over: the marker, then the step's output again, numbered on from before.
    const log = await eventually(
      () => chunks(build.id),
      (all) => {
        const text = all.map((c) => c.text).join("");
        return text.includes(MARKER) && text.slice(text.indexOf(MARKER)).includes("step-started");
      },
      { timeoutMs: 120_000, what: "the attempt to start over" },
    );
    expect(log.every((c) => c.attempt === 1)).toBe(true);
    expect(log.map((c) => c.seq)).toEqual(log.map((_, i) => i + 1));
    const resumed = await readBuild(build.id);
    expect(resumed.attempt).toBe(1);
    expect(resumed.history).toContainEqual(
      expect.objectContaining({ to: "claimed", reason: "the agent restarted; attempt 1 starts over" }),
    );
    expect(resumed.history.filter((h) => h.to === "pending")).toHaveLength(1); // only when it was queued
    const printed = stack.agent.lines.join("\n");
    expect(printed).toContain("stopped work a previous run left behind");
    expect(printed).toContain("resuming work a previous run held");
    await untilStep(true, "the RUN step, started over");

    // Killed within the resumed attempt: this time the build goes back to the queue, and runs again.
    await killAndRestartAgent();
    const again = await eventually(
      () => readBuild(build.id),
      (b) => b.attempt === 2,
      { timeoutMs: 60_000, what: "the second attempt" },
    );
    expect(again.history).toContainEqual(
      expect.objectContaining({
        to: "pending",
        actor: expect.stringMatching(/^agent:/),
        reason: "the agent restarted again while running it",
      }),
    );
    expect(again.history.find((h) => h.actor === "system:reaper")).toBeUndefined();

    // The second attempt runs the step again; cancel it so the test ends.
    await untilStep(true, "the second attempt's RUN step");
    await api.ok("POST", `/api/builds/${build.id}/cancel`);
    await eventually(
      () => readBuild(build.id),
      (b) => b.status === "cancelled",
      { timeoutMs: 60_000, what: "the cancelled build" },
    );
    await untilStep(false, "no RUN step left");
  });
});

describe("an agent killed while a new replica warms up", () => {
  let stack: SlowBuildStack;
  let api: ApiClient;

  beforeAll(async () => {
    stack = await startSlowBuildStack({
      deploys: true,
      controlPlaneEnv: { LEASE_SECONDS: "600" },
      agentEnv: { KILL_GRACE_SECONDS: "1", HEARTBEAT_SECONDS: "1" },
      files: {
        Containerfile: [
          `FROM ${BASE_IMAGE}`,
          "COPY www /www",
          "EXPOSE 8080",
          // It answers only once the test says so, which holds the deploy in its health check.
          'CMD ["sh", "-c", "while [ ! -e /ready ]; do sleep 0.1; done; exec httpd -f -p 8080 -h /www"]',
          "",
        ].join("\n"),
        "www/index.html": "adopted\n",
      },
    });
    api = stack.apis[0] as ApiClient;
  });

  afterAll(async () => {
    await stack?.close();
    if (stack) await removeContainersWithLabel(`slipway.service=${stack.serviceId}`);
  });

  it("adopts the container it had started, so the replica is started once", async () => {
    const build = await api.ok<Build>("POST", `/api/services/${stack.serviceId}/builds`);
    const replicas = () => containersWithLabel(`slipway.service=${stack.serviceId}`);
    const [started] = await eventually(replicas, (all) => all.length === 1 && all[0]?.running === true, {
      timeoutMs: 180_000,
      what: "the new replica's container",
    });

    stack.agent.process.kill("SIGKILL");
    await new Promise((resolve) => stack.agent.process.once("exit", resolve));
    stack.agent = await startAgentProcess(stack.agentEnv);
    await eventually(
      async () => stack.agent.lines.some((line) => line.includes("resuming work a previous run held")),
      (resumed) => resumed,
      { timeoutMs: 60_000, what: "the deploy to be resumed" },
    );
    await promisify(execFile)("podman", ["exec", started?.id as string, "touch", "/ready"]);

    interface Deployment {
      buildId: string;
      status: string;
      reason: string | null;
      replicas: { endpoint: string | null; containerId: string | null }[];
    }
    const deployment = await eventually(
      async () =>
        (await api.ok<Deployment[]>("GET", `/api/services/${stack.serviceId}/deployments`)).find(
          (d) => d.buildId === build.id,
        ),
      (d) => d !== undefined && ["succeeded", "failed"].includes(d.status),
      { timeoutMs: 120_000, what: "the deployment to end" },
    );
    expect(deployment?.status, deployment?.reason ?? "").toBe("succeeded");
    expect(deployment?.replicas.map((r) => r.containerId)).toEqual([started?.id]);
    expect(await replicas()).toEqual([{ id: started?.id, running: true }]);
    expect(stack.agent.lines.join("\n")).toContain(`==> Adopted the container ${started?.id.slice(0, 12)}`);
    const served = await fetch(`http://${deployment?.replicas[0]?.endpoint}/`);
    expect(await served.text()).toBe("adopted\n");
  });
});
