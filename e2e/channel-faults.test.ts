// The agent channel under faults staged for real: a control plane killed mid-build, partitions
// shorter and longer than a lease (a TCP relay that stops passing bytes, as a dropped link does),
// a cancel sent while the agent is cut off, and an agent frozen mid-build. Real processes, a real
// database, real podman builds.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { eventually, type ApiClient } from "../test-support/api.js";
import { isRunning } from "../test-support/host.js";
import { startSlowBuildStack, type Build, type SlowBuildStack } from "../test-support/slow-build.js";
import { startAgentProcess, type ChildHandle } from "../test-support/processes.js";

interface Chunk {
  attempt: number;
  seq: number;
  text: string;
}

const FINISHED = ["completed", "failed", "cancelled"];

describe("the agent channel under faults", () => {
  let stack: SlowBuildStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  const api = () => stack?.apis[0] as ApiClient;
  const readBuild = (id: string) => api().ok<Build>("GET", `/api/builds/${id}`);
  const chunks = async (id: string) => (await api().ok<{ chunks: Chunk[] }>("GET", `/api/builds/${id}/logs`)).chunks;
  const logText = async (id: string) => (await chunks(id)).map((c) => c.text).join("");
  const startBuild = () => api().ok<Build>("POST", `/api/services/${stack?.serviceId}/builds`);
  const untilLogHas = (id: string, text: string) =>
    eventually(
      () => logText(id),
      (log) => log.includes(text),
      { timeoutMs: 120_000, what: `"${text}" in the log` },
    );
  const untilFinished = (id: string, timeoutMs = 120_000) =>
    eventually(
      () => readBuild(id),
      (b) => FINISHED.includes(b.status),
      { timeoutMs, what: "the build to finish" },
    );
  /** The log of one attempt arrived whole: numbered without holes, and no gap marker. */
  const expectContiguous = (all: Chunk[], attempt: number) => {
    const seqs = all.filter((c) => c.attempt === attempt).map((c) => c.seq);
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));
    expect(all.map((c) => c.text).join("")).not.toContain("bytes of log were dropped");
  };
  /** Waits until the RUN step runs (`alive`) or is gone. */
  const untilStep = (sleeper: string, alive: boolean, what: string) =>
    eventually(
      () => isRunning(sleeper),
      (running) => running === alive,
      { timeoutMs: 120_000, what },
    );
  const requeues = (build: Build) => build.history.filter((h) => h.to === "pending").length;

  it("finishes a build whose control plane was killed mid-build, as attempt 1 with its whole log", async () => {
    stack = await startSlowBuildStack({
      runStep: "echo step-started && sleep 4 && for i in 1 2 3 4 5; do echo after-restart-$i; done",
    });
    const build = await startBuild();
    await untilLogHas(build.id, "step-started");
    await stack.restartControlPlane(0);
    const done = await untilFinished(build.id);
    expect(done).toMatchObject({ status: "completed", attempt: 1 });
    expect(requeues(done)).toBe(1); // the pending it was created in, and no other
    const log = await chunks(build.id);
    expectContiguous(log, 1);
    expect(log.map((c) => c.text).join("")).toMatch(/after-restart-1\n(.|\n)*after-restart-5\n/);
  });

  it("re-queues the build of an agent killed mid-build when its lease runs out, and another agent finishes it", async () => {
    stack = await startSlowBuildStack({
      controlPlaneEnv: { LEASE_SECONDS: "5", REAPER_INTERVAL_SECONDS: "1" },
      runStep: "echo step-started && sleep 3 && echo step-finished",
    });
    const build = await startBuild();
    await untilLogHas(build.id, "step-started");
    const exited = new Promise((resolve) => stack?.agent.process.once("exit", resolve));
    stack.agent.process.kill("SIGKILL");
    await exited;
    // A second agent on another host (its own state directory) joins after the first one died.
    const { joinToken } = await api().ok<{ joinToken: string }>("POST", "/api/agents", {
      name: "second-agent",
      capabilities: ["build"],
    });
    const stateDir = await mkdtemp(join(tmpdir(), "slipway-second-agent-"));
    let second: ChildHandle | undefined;
    try {
      second = await startAgentProcess({
        ...stack.agentEnv,
        SLIPWAY_STATE_DIR: stateDir,
        SLIPWAY_JOIN_TOKEN: joinToken,
      });
      const done = await untilFinished(build.id);
      expect(done).toMatchObject({ status: "completed", attempt: 2 });
      const reaped = done.history.findIndex((h) => h.to === "pending" && h.actor === "system:reaper");
      expect(reaped).toBeGreaterThan(0);
      const claimers = done.history.filter((h) => h.to === "claimed").map((h) => h.actor);
      expect(claimers).toHaveLength(2);
      expect(claimers[0]).not.toBe(claimers[1]);
      const log = await chunks(build.id);
      expectContiguous(log, 2);
      expect(
        log
          .filter((c) => c.attempt === 2)
          .map((c) => c.text)
          .join(""),
      ).toContain("step-finished");
    } finally {
      await second?.stop();
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it("rides out a partition shorter than the lease: no re-queue, no gap in the log", async () => {
    stack = await startSlowBuildStack({
      partitionable: true,
      controlPlaneEnv: { LEASE_SECONDS: "10", REAPER_INTERVAL_SECONDS: "1" },
      runStep: "echo step-started && for i in $(seq 1 12); do echo tick-$i; sleep 0.5; done",
    });
    const build = await startBuild();
    await untilLogHas(build.id, "step-started");
    stack.proxy?.cut();
    // The partition itself: four seconds of silence, well inside the ten-second lease.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    stack.proxy?.heal();
    const done = await untilFinished(build.id);
    expect(done).toMatchObject({ status: "completed", attempt: 1 });
    expect(requeues(done)).toBe(1);
    const log = await chunks(build.id);
    expectContiguous(log, 1);
    const text = log.map((c) => c.text).join("");
    const ticks = [...text.matchAll(/^tick-(\d+)$/gm)].map((m) => Number(m[1]));
    expect(ticks).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it("delivers a cancel issued while the agent is cut off as soon as it is back", async () => {
    stack = await startSlowBuildStack({
      partitionable: true,
      controlPlaneEnv: { LEASE_SECONDS: "60" },
      agentEnv: { KILL_GRACE_SECONDS: "1" },
    });
    const build = await startBuild();
    const sleeper = stack.sleeper;
    await untilStep(sleeper, true, "the RUN step");
    stack.proxy?.cut();
    expect((await api().request("POST", `/api/builds/${build.id}/cancel`)).status).toBe(202);
    // Recorded, but the agent cannot have heard: the step still runs.
    expect(await isRunning(sleeper)).toBe(true);
    expect((await readBuild(build.id)).status).not.toBe("cancelled");
    stack.proxy?.heal();
    const done = await untilFinished(build.id);
    expect(done).toMatchObject({ status: "cancelled", statusReason: "cancelled by a user", attempt: 1 });
    expect(await isRunning(sleeper)).toBe(false);
  });

  it("stops its own work when a partition outlasts the lease, and the old claim's late writes are refused", async () => {
    stack = await startSlowBuildStack({
      partitionable: true,
      controlPlaneEnv: { LEASE_SECONDS: "5", REAPER_INTERVAL_SECONDS: "1" },
      agentEnv: { KILL_GRACE_SECONDS: "1" },
    });
    const agent = stack.agent;
    const build = await startBuild();
    const sleeper = stack.sleeper;
    await untilStep(sleeper, true, "the RUN step");
    stack.proxy?.cut();
    // Still cut off, the agent gives up the work when its lease runs out...
    await eventually(
      async () => agent.lines.some((l) => l.includes("lease expired without renewal")),
      (seen) => seen,
      { timeoutMs: 30_000, what: "the agent to notice its lease expired" },
    );
    await untilStep(sleeper, false, "the RUN step to stop");
    // ...and the control plane, on its side, has put the build back in the queue.
    const requeued = await eventually(
      () => readBuild(build.id),
      (b) => b.history.some((h) => h.to === "pending" && h.actor === "system:reaper"),
      { timeoutMs: 30_000, what: "the reaper to re-queue the build" },
    );
    const reaped = requeued.history.length;
    stack.proxy?.heal();
    // Back in touch, the agent claims the build again as attempt 2; nothing the first claim still
    // had in flight (a heartbeat, log lines) changed the build.
    await untilStep(sleeper, true, "attempt 2's RUN step");
    const second = await readBuild(build.id);
    expect(second.attempt).toBe(2);
    expect(second.history.slice(reaped).map((h) => h.to)[0]).toBe("claimed");
    // The first claim ended without a word: no failure or cancel line in its log.
    const firstLog = (await chunks(build.id))
      .filter((c) => c.attempt === 1)
      .map((c) => c.text)
      .join("");
    expect(firstLog).not.toMatch(/==> (Failed|Cancelled)/);
    await api().ok("POST", `/api/builds/${build.id}/cancel`);
    expect(await untilFinished(build.id)).toMatchObject({ status: "cancelled", attempt: 2 });
    // A partition outlasting a lease, then a second attempt: bounded by its own waits (49 s measured).
  }, 180_000);

  it("keeps the lease of an agent frozen for half of it, and finishes the build as attempt 1", async () => {
    stack = await startSlowBuildStack({
      controlPlaneEnv: { LEASE_SECONDS: "6", REAPER_INTERVAL_SECONDS: "1" },
      runStep: "echo step-started && sleep 5 && echo step-finished",
    });
    const build = await startBuild();
    await untilLogHas(build.id, "step-started");
    // A busy event loop, at its worst: the agent process does nothing at all for three seconds.
    stack.agent.process.kill("SIGSTOP");
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    stack.agent.process.kill("SIGCONT");
    const done = await untilFinished(build.id);
    expect(done).toMatchObject({ status: "completed", attempt: 1 });
    expect(requeues(done)).toBe(1);
    expect(done.history.some((h) => h.actor === "system:reaper")).toBe(false);
    expect(await logText(build.id)).toContain("step-finished");
  });

  it("keeps agent and control-plane memory bounded through a 400 MB log flood, and marks what it dropped", async () => {
    const floodMb = 400;
    stack = await startSlowBuildStack({
      runStep: `yes "flood 0123456789 abcdefghijklmnopqrstuvwxyz" | head -c ${floodMb * 1024 * 1024} && echo flood-done`,
    });
    const memory = async (pid: number | undefined) => {
      const text = await readFile(`/proc/${pid}/status`, "utf8");
      const mb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text)?.[1]) / 1024;
      return { rssMb: mb("VmRSS"), peakMb: mb("VmHWM") };
    };
    const pids = { agent: stack.agent.process.pid, controlPlane: stack.controlPlanes[0]?.process.pid };
    const before = { agent: await memory(pids.agent), controlPlane: await memory(pids.controlPlane) };
    const build = await startBuild();
    const done = await untilFinished(build.id, 300_000);
    expect(done.status).toBe("completed");
    // The whole flood went through both processes; each grew by a fraction of it, and stayed under
    // the 300 MB a control plane is allowed with a thousand agents.
    for (const side of ["agent", "controlPlane"] as const) {
      const after = await memory(pids[side]);
      expect(after.peakMb - before[side].rssMb, side).toBeLessThan(floodMb * 0.4);
      expect(after.peakMb, side).toBeLessThan(300);
    }
    // The agent could not ship 400 MB as fast as it came: it dropped the middle, said so in the log,
    // and still delivered the build's last words.
    let text = "";
    for (let after = { attempt: 0, seq: 0 }; ;) {
      const page = (
        await api().ok<{ chunks: Chunk[] }>(
          "GET",
          `/api/builds/${build.id}/logs?afterAttempt=${after.attempt}&afterSeq=${after.seq}&limit=1000`,
        )
      ).chunks;
      if (page.length === 0) break;
      text += page.map((c) => c.text).join("");
      after = page.at(-1) as Chunk;
    }
    expect(text).toMatch(/\[slipway: \d+ bytes of log were dropped here\]/);
    expect(text).toContain("flood-done");
    expect(text.length).toBeLessThan(floodMb * 1024 * 1024);
    // 400 MB through a real build, the agent and the control plane: bounded by its own wait for the
    // build (27-47 s measured, over 60 s on a loaded host), not by the suite's default.
  }, 360_000);
});
