// The agent's main loop: keep a session stream open for hints, claim work into free slots, renew
// leases, and stop any work whose lease the control plane says is gone.
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type Docker from "dockerode";
import { Outcome, Verdict, WorkKind, type ResumeVerdict, type Work, type WorkRef } from "@slipway/proto";
import { AgentChannel, isLeaseLost, isTransient } from "./channel/channel.js";
import { delay, fullJitterDelay } from "./channel/backoff.js";
import { executeBuild } from "./build/build-executor.js";
import { executeDeploy } from "./deploy/deploy-executor.js";
import { ContainerReconciler } from "./deploy/container-reconciler.js";
import { LogShipper } from "./logs/log-shipper.js";
import { ContainerLogReaders } from "./logs/container-logs.js";
import { ProcessRegistry } from "./runtime/process-registry.js";
import { HeldWorkStore } from "./channel/held-work-store.js";
import { stopAgentBuildCgroups } from "./runtime/build-cgroup.js";
import { WorkFailure, type WorkContext, type WorkResult } from "./work.js";
import type { AgentConfig } from "./config.js";
import type { AgentIdentity } from "./channel/identity-store.js";
import { keepCertificateFresh } from "./channel/certificate-renewer.js";
import type { AgentLogger } from "./logger.js";

interface RunningWork {
  ref: WorkRef;
  controller: AbortController;
  done: Promise<void>;
  /** How long a lease lasts, learnt from the claim; heartbeats go out at a third of it. */
  leaseMs: number;
  /**
   * When the lease runs out unless renewed (performance.now() time). Past it, the control plane may
   * have given the work to someone else, so the agent stops it on its own: cut off from the control
   * plane, it must not keep running work that is no longer its.
   */
  leaseDeadline: number;
}

/** One claim of one work item: the same build claimed again after a re-queue is another claim. */
const claimKey = (ref: WorkRef) => `${ref.id}/${ref.leaseToken}`;

class LeaseLost extends Error {
  override name = "LeaseLost";
}

/** Someone cancelled the work: stop it (SIGTERM, then SIGKILL), clean up, complete it as cancelled. */
class Cancelled extends Error {
  override name = "Cancelled";
}

export class AgentRunner {
  private readonly channel: AgentChannel;
  private readonly running = new Map<string, RunningWork>();
  private readonly stopController = new AbortController();
  private claiming = false;
  private claimAgain = false;

  constructor(
    private readonly identity: AgentIdentity,
    private readonly config: AgentConfig,
    private readonly docker: Docker,
    private readonly log: AgentLogger,
  ) {
    this.channel = new AgentChannel(identity);
    this.processes = new ProcessRegistry(config.SLIPWAY_STATE_DIR);
    this.heldWork = new HeldWorkStore(config.SLIPWAY_STATE_DIR);
    this.containerLogs = new ContainerLogReaders(docker, (request) => this.channel.sendContainerLogs(request), log);
  }

  /** Replica logs the control plane asked for (GET /api/services/:id/logs), read while someone reads them. */
  private readonly containerLogs: ContainerLogReaders;

  private readonly processes: ProcessRegistry;
  private readonly heldWork: HeldWorkStore;

  /** Runs until stop() is called. */
  async run(): Promise<void> {
    await this.takeOverLeftovers();
    const signal = this.stopController.signal;
    // Ticks often; heartbeat() decides whether a renewal is due (leases may be shorter than the tick).
    const heartbeat = setInterval(() => {
      this.stopWorkWithExpiredLeases();
      void this.heartbeatIfDue();
    }, 250);
    const poll = setInterval(() => this.poke(), this.config.POLL_SECONDS * 1000);
    const renewing = keepCertificateFresh(this.identity, this.channel, this.config.SLIPWAY_STATE_DIR, this.log, signal);
    const reconciling = this.config.SLIPWAY_WORK_KINDS.includes("deploy")
      ? new ContainerReconciler(
          this.docker,
          this.channel,
          this.identity.agentId,
          this.config.KILL_GRACE_SECONDS,
          this.log,
        ).run(this.config.INVENTORY_SECONDS, signal)
      : Promise.resolve();
    try {
      this.poke();
      await this.sessionLoop(signal);
    } finally {
      clearInterval(heartbeat);
      clearInterval(poll);
      await renewing;
      await reconciling;
    }
  }

  /**
   * A previous run of this agent may have been killed mid-work. Whatever it left running stops first
   * (its output and exit status went with it, so nothing can be reattached). Then the control plane
   * hears what that run held and answers for each item: run the same attempt again (under a new
   * lease token), complete it as cancelled, or forget it.
   */
  private async takeOverLeftovers(): Promise<void> {
    const groups = await this.processes.killLeftovers();
    const steps = await stopAgentBuildCgroups(this.identity.agentId, this.config.KILL_GRACE_SECONDS * 1000);
    await rm(join(this.config.SLIPWAY_STATE_DIR, "work"), { recursive: true, force: true });
    if (groups + steps > 0) this.log.warn("stopped work a previous run left behind", { groups, steps });
    const held = await this.heldWork.takeOver();
    if (held.length === 0) return;
    let verdicts: ResumeVerdict[];
    // One key for this restart: a retry after a lost reply gets the same answers, not new ones.
    const idempotencyKey = randomUUID();
    try {
      ({ verdicts } = await this.withRetry(
        () => this.channel.resume({ held, idempotencyKey }),
        this.stopController.signal,
      ));
    } catch (error) {
      // Still recorded: the next start asks again. Meanwhile the leases run out and the reaper acts.
      this.log.warn("could not ask what to do with work a previous run held", { error: (error as Error).message });
      return;
    }
    for (const { work: ref, verdict, reason, resumed, nextLogSeq } of verdicts) {
      if (!ref) continue;
      const fields = { id: ref.id, attempt: ref.attempt, reason };
      if (verdict === Verdict.VERDICT_CONTINUE && resumed?.ref) {
        // It goes on under a new lease token; the old claim is done with.
        this.log.warn("resuming work a previous run held", fields);
        this.start(resumed, { nextLogSeq });
      } else if (verdict === Verdict.VERDICT_CANCEL) {
        await this.withRetry(
          () => this.channel.complete({ work: ref, outcome: Outcome.OUTCOME_CANCELLED, error: reason }),
          this.stopController.signal,
        ).catch(() => {}); // its lease running out ends it as cancelled too
        this.log.warn("completed as cancelled work a previous run held", fields);
      } else {
        this.log.warn("dropped work a previous run held", fields);
      }
      await this.heldWork.remove(ref);
    }
  }

  /** Stops claiming, stops running work (SIGTERM, then SIGKILL), and waits for it to wind down. */
  async stop(): Promise<void> {
    this.stopController.abort(new Error("agent stopping"));
    for (const work of this.running.values()) work.controller.abort(new Error("agent stopping"));
    await Promise.allSettled([...this.running.values()].map((w) => w.done));
    this.channel.close();
  }

  private async sessionLoop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const opened = Date.now();
      await new Promise<void>((resolve) => {
        const stream = this.channel.session(this.totalSlots());
        const onAbort = () => stream.cancel();
        signal.addEventListener("abort", onAbort, { once: true });
        stream.on("data", (message) => {
          failures = 0;
          if (message.event?.$case === "workAvailable") this.poke();
          if (message.event?.$case === "cancel") this.cancel(message.event.value.id, message.event.value.reason);
          if (message.event?.$case === "containerLogs") this.containerLogs.start(message.event.value);
          if (message.event?.$case === "stopContainerLogs") this.containerLogs.stop(message.event.value.requestId);
        });
        stream.on("error", (error: Error) => {
          if (!signal.aborted) this.log.warn("session stream lost; reconnecting", { error: error.message });
        });
        stream.on("close", () => {
          // Log requests came over this session; the control plane forgets them when it drops.
          this.containerLogs.stopAll("the session to the control plane dropped");
          signal.removeEventListener("abort", onAbort);
          resolve();
        });
      });
      if (signal.aborted) return;
      if (Date.now() - opened > 60_000) failures = 0;
      await delay(fullJitterDelay(failures++), signal).catch(() => {});
      this.poke(); // we may have missed hints while away
    }
  }

  /** Stops every claim of a work item; execute() then completes it as cancelled. */
  private cancel(id: string, reason: string): void {
    for (const work of this.running.values()) {
      if (work.ref.id !== id || work.controller.signal.aborted) continue;
      this.log.info("cancelling work", { id, reason });
      work.controller.abort(new Cancelled(reason || "cancelled"));
    }
  }

  /** Asks for work until the slots are full or there is none. Coalesces concurrent requests. */
  private poke(): void {
    if (this.stopController.signal.aborted) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = true;
    void this.claimLoop().finally(() => {
      this.claiming = false;
      if (this.claimAgain) {
        this.claimAgain = false;
        this.poke();
      }
    });
  }

  /** Each kind of work has its own slots: a deploy never waits for a build to finish, nor the reverse. */
  private slotsOf(kind: WorkKind): number {
    if (kind === WorkKind.WORK_KIND_BUILD) return this.config.SLIPWAY_BUILD_SLOTS;
    return this.config.SLIPWAY_DEPLOY_SLOTS;
  }

  private totalSlots(): number {
    return this.workKinds().reduce((sum, kind) => sum + this.slotsOf(kind), 0);
  }

  private workKinds(): WorkKind[] {
    return this.config.SLIPWAY_WORK_KINDS.map((k) =>
      k === "build" ? WorkKind.WORK_KIND_BUILD : WorkKind.WORK_KIND_DEPLOY,
    );
  }

  /** The kinds with a free slot now. */
  private kindsWithFreeSlots(): WorkKind[] {
    const used = new Map<WorkKind, number>();
    for (const work of this.running.values()) used.set(work.ref.kind, (used.get(work.ref.kind) ?? 0) + 1);
    return this.workKinds().filter((kind) => (used.get(kind) ?? 0) < this.slotsOf(kind));
  }

  private async claimLoop(): Promise<void> {
    for (;;) {
      const kinds = this.kindsWithFreeSlots();
      if (kinds.length === 0 || this.stopController.signal.aborted) return;
      let work: Work | undefined;
      // One key per claim, reused on retries: if a reply was lost, the retry returns the same work.
      const idempotencyKey = randomUUID();
      try {
        work = (await this.withRetry(() => this.channel.claim({ kinds, idempotencyKey }), this.stopController.signal))
          .work;
      } catch (error) {
        this.log.error("claim failed", { error: (error as Error).message });
        return;
      }
      if (!work?.ref) return;
      this.start(work);
    }
  }

  /** Runs a claimed work item in a slot; `resumed` when it is a previous run's, starting over. */
  private start(work: Work, resumed?: { nextLogSeq: number }): void {
    const ref = work.ref as WorkRef;
    const controller = new AbortController();
    const leaseMs = work.leaseExpiresAt ? Math.max(1000, work.leaseExpiresAt.getTime() - Date.now()) : 60_000;
    const entry: RunningWork = {
      ref,
      controller,
      done: Promise.resolve(),
      leaseMs,
      leaseDeadline: performance.now() + leaseMs,
    };
    const key = claimKey(ref);
    this.running.set(key, entry);
    void this.heldWork.add(ref);
    entry.done = this.execute(work, ref, controller, resumed).finally(() => {
      if (this.running.get(key) === entry) this.running.delete(key);
      void this.heldWork.remove(ref);
      this.poke();
    });
  }

  private async execute(
    work: Work,
    ref: WorkRef,
    controller: AbortController,
    resumed: { nextLogSeq: number } | undefined,
  ): Promise<void> {
    const signal = controller.signal;
    const isBuild = work.spec?.$case === "build";
    const fields = { kind: isBuild ? "build" : "deploy", id: ref.id, attempt: ref.attempt };
    this.log.info("work started", fields);
    const loseLease = () => controller.abort(new LeaseLost("lease lost"));
    const log = new LogShipper(
      isBuild
        ? async (seq, data) => {
            await this.channel.appendLog({ work: ref, seq, data });
          }
        : async (_seq, data) => {
            process.stdout.write(data);
          },
      [],
      loseLease,
      resumed?.nextLogSeq,
    );
    if (resumed) log.line(`==> The agent restarted; attempt ${ref.attempt} starts over`);
    const ctx: WorkContext = {
      ref,
      signal,
      log,
      gitCredentials: async () => {
        const credentials = await this.withRetry(() => this.channel.getGitCredentials({ work: ref }), signal);
        if (!credentials.password) return undefined;
        log.addSecret(credentials.password);
        return { username: credentials.username, password: credentials.password };
      },
      reportPhase: async (phase) => {
        try {
          await this.withRetry(() => this.channel.reportStatus({ work: ref, phase }), signal);
        } catch (error) {
          if (isLeaseLost(error)) loseLease();
          throw error;
        }
      },
    };

    let result: WorkResult;
    try {
      if (work.spec?.$case === "build") {
        result = await executeBuild(ctx, work.spec.value, {
          workRoot: join(this.config.SLIPWAY_STATE_DIR, "work"),
          killGraceMs: this.config.KILL_GRACE_SECONDS * 1000,
          processes: this.processes,
          agentId: this.identity.agentId,
        });
      } else if (work.spec?.$case === "deploy") {
        result = await executeDeploy(ctx, work.spec.value, {
          docker: this.docker,
          publishHost: this.config.PUBLISH_HOST,
          agentId: this.identity.agentId,
        });
      } else {
        result = { outcome: "failed", error: "this agent does not know how to run this kind of work" };
      }
    } catch (error) {
      result = { outcome: "failed", error: describeFailure(error) };
    }

    if (signal.reason instanceof LeaseLost) {
      this.log.warn("lease lost; work stopped without completing it", fields);
      log.close();
      return;
    }
    if (this.stopController.signal.aborted) {
      // The agent is stopping: give the work back, so it is re-queued now rather than when its
      // lease expires (if this fails, the lease expiring does the same, later).
      await this.channel.release({ work: ref, reason: "the agent stopped before finishing it" }).catch(() => {});
      log.close();
      return;
    }
    const cancelled = signal.reason instanceof Cancelled;
    if (cancelled) {
      result = { outcome: "failed", error: (signal.reason as Cancelled).message };
      log.line(`==> Cancelled: ${result.error}`);
    } else if (result.outcome === "failed") log.line(`==> Failed: ${result.error}`);
    try {
      await log.flush();
      await this.withRetry(
        () =>
          this.channel.complete({
            work: ref,
            outcome: cancelled
              ? Outcome.OUTCOME_CANCELLED
              : result.outcome === "succeeded"
                ? Outcome.OUTCOME_SUCCEEDED
                : Outcome.OUTCOME_FAILED,
            error: result.outcome === "failed" ? result.error : "",
            result: result.outcome === "succeeded" ? result.result : undefined,
          }),
        // The work's own signal may be aborted (cancel); completing must still go through.
        this.stopController.signal,
      );
      this.log.info(`work ${result.outcome}`, fields);
    } catch (error) {
      this.log.warn("could not complete work", { ...fields, error: (error as Error).message });
    } finally {
      log.close();
    }
  }

  /** Retries a call that may not have reached the control plane; stops on a definite answer. */
  private async withRetry<T>(call: () => Promise<T>, signal: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (!isTransient(error) || signal.aborted || attempt >= 8) throw error;
        await delay(fullJitterDelay(attempt, 200, 5_000), signal);
      }
    }
  }

  private lastHeartbeat = 0;
  private heartbeating = false;

  /** Renews leases every HEARTBEAT_SECONDS, or sooner when a lease is short (a third of its length). */
  private async heartbeatIfDue(): Promise<void> {
    if (this.heartbeating || this.running.size === 0) return;
    const shortestLease = Math.min(...[...this.running.values()].map((w) => w.leaseMs));
    const interval = Math.min(this.config.HEARTBEAT_SECONDS * 1000, shortestLease / 3);
    if (Date.now() - this.lastHeartbeat < interval) return;
    this.heartbeating = true;
    this.lastHeartbeat = Date.now();
    try {
      await this.heartbeat();
    } finally {
      this.heartbeating = false;
    }
  }

  /** Work whose lease ran out without a renewal is stopped, and nothing more is written for it. */
  private stopWorkWithExpiredLeases(): void {
    const now = performance.now();
    for (const work of this.running.values()) {
      if (now < work.leaseDeadline || work.controller.signal.aborted) continue;
      this.log.warn("lease expired without renewal; stopping the work", {
        id: work.ref.id,
        attempt: work.ref.attempt,
      });
      work.controller.abort(new LeaseLost("the lease expired before the control plane could renew it"));
    }
  }

  private async heartbeat(): Promise<void> {
    const held = [...this.running.values()].map((w) => w.ref);
    if (held.length === 0) return;
    // The control plane renews from the moment it receives the heartbeat, which is after this.
    const sentAt = performance.now();
    try {
      const { verdicts } = await this.channel.heartbeat({ held });
      for (const verdict of verdicts) {
        if (!verdict.work) continue;
        // Matched by lease too: a verdict on an old claim must not stop a newer claim of the same work.
        const work = this.running.get(claimKey(verdict.work));
        if (!work) continue;
        if (verdict.verdict === Verdict.VERDICT_CONTINUE) {
          work.leaseDeadline = sentAt + work.leaseMs;
          continue;
        }
        this.log.warn("control plane says stop", {
          id: verdict.work.id,
          verdict: verdict.verdict,
          reason: verdict.reason,
        });
        if (work.controller.signal.aborted) continue;
        work.controller.abort(
          verdict.verdict === Verdict.VERDICT_LOST ? new LeaseLost(verdict.reason) : new Cancelled(verdict.reason),
        );
      }
    } catch (error) {
      this.log.warn("heartbeat failed", { error: (error as Error).message });
    }
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof WorkFailure) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
