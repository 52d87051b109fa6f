// The leased-work core, as one control plane uses it: every kind of work registered with it is
// claimed, advanced, renewed, finished, released, resumed, reaped and cancelled the same way. The
// statements live in sql/, one file each; this module composes them, runs a kind's onEnded in the
// same transaction, batches claims that arrive together, keeps the session hub's count of what
// each agent holds, and wakes agents when work goes back to the queue.
import type { Transaction } from "kysely";
import { Batcher } from "../db/batcher.js";
import type { Database } from "../db/schema.js";
import type { Db } from "../db/database.js";
import { LeaseLostError, invalid } from "../errors.js";
import {
  UnrunnableWorkError,
  type AnyWorkKind,
  type Lease,
  type WorkEnding,
  type WorkReport,
  type WorkRow,
} from "./kind.js";
import { SessionHub } from "./session-hub.js";
import { advanceWork } from "./sql/advance.js";
import { MAX_LOG_CHUNK_BYTES, appendLog } from "./sql/append-log.js";
import { claimWork, type Claimant, type ClaimedRow } from "./sql/claim.js";
import { extendLiveLeases } from "./sql/extend-live-leases.js";
import type { Executor } from "./sql/fragments.js";
import { finishWork, type Finishing } from "./sql/finish.js";
import { reapExpired, releaseWork } from "./sql/give-back.js";
import { notifyWork } from "./sql/notify.js";
import { renewLeases } from "./sql/renew.js";
import { nextLogSeq, resumeLease } from "./sql/resume.js";

/** An agent asking for work, as the channel authenticated it. */
export interface ClaimingAgent {
  id: string;
  orgId: string;
  capabilities: readonly string[];
  labels: Record<string, string>;
  /** A drained agent finishes what it runs and is given nothing new. */
  drained: boolean;
}

/** A work item an agent holds, with the spec it runs. */
export interface HeldWork {
  kind: AnyWorkKind;
  row: WorkRow;
  spec: unknown;
  /** Given to an earlier try of the same claim (whose reply was lost), not claimed just now. */
  again: boolean;
}

/** A work item as an agent names it. */
export interface WorkHandle {
  kind: string;
  id: string;
  leaseToken: string;
}

export type LeaseVerdict =
  { verdict: "continue"; leaseExpiresAt: Date } | { verdict: "cancel"; leaseExpiresAt: Date } | { verdict: "lost" };

/** What a restarted agent is told to do with an item its previous run held. */
export type ResumeVerdict =
  | { verdict: "continue"; work: HeldWork; nextLogSeq: number }
  | { verdict: "cancel" }
  | { verdict: "lost"; reason: string };

export interface WorkQueueOptions {
  /** How long a claim lives without a heartbeat. */
  leaseSeconds: number;
}

/** How many unrunnable items one claim fails before it gives up for now (the next claim goes on). */
const MAX_UNRUNNABLE_PER_CLAIM = 8;

/** More than any agent's slots could hold: a longer list is not a restarted agent's. */
const MAX_RESUMED_ITEMS = 256;

/**
 * Requests that arrive while a statement is in flight go together in the next one. One statement at
 * a time: two claims racing over the same pending rows cost PostgreSQL more than they save
 * (bench/README.md, "One core for leased work").
 */
const BATCHING = { maxBatch: 64, maxInFlight: 1 };

export class WorkQueue {
  readonly sessions: SessionHub;
  private readonly byName: Map<string, AnyWorkKind>;
  private readonly leaseSeconds: number;
  /** Claims of one kind by agents that can take the same work, grouped into one statement. */
  private readonly claimBatches = new Map<string, Batcher<Claimant, ClaimedRow | undefined>>();
  /** Endings of one kind that set the same columns, grouped into one statement. */
  private readonly finishBatches = new Map<string, Batcher<Finishing, WorkRow | undefined>>();

  constructor(
    private readonly db: Db,
    readonly kinds: readonly AnyWorkKind[],
    options: WorkQueueOptions,
  ) {
    this.byName = new Map(kinds.map((kind) => [kind.name, kind]));
    if (this.byName.size !== kinds.length) throw new Error("two kinds of work share a name");
    this.leaseSeconds = options.leaseSeconds;
    this.sessions = new SessionHub((kind) => this.byName.get(kind)?.capability ?? kind);
  }

  /** The registered kind called `name`. */
  kind(name: string): AnyWorkKind {
    const kind = this.byName.get(name);
    if (!kind) throw invalid(`there is no kind of work called ${name}`);
    return kind;
  }

  /** The kinds this agent can take, in the order they are offered. */
  kindsFor(agent: Pick<ClaimingAgent, "capabilities">): AnyWorkKind[] {
    return this.kinds.filter((kind) => agent.capabilities.includes(kind.capability));
  }

  /**
   * Gives the agent at most one work item of the kinds it asks for (in registration order). A claim
   * retried with the same key after its reply was lost returns the same work again.
   */
  async claim(
    agent: ClaimingAgent,
    kindNames: readonly string[],
    claimKey: string | null,
  ): Promise<HeldWork | undefined> {
    if (agent.drained) return undefined;
    for (const kind of this.kindsFor(agent).filter((k) => kindNames.includes(k.name))) {
      // Work whose spec cannot be made is failed on the spot, and the next item is taken instead.
      for (let tries = 0; tries < MAX_UNRUNNABLE_PER_CLAIM; tries++) {
        const row = await this.claimBatch(kind, agent).submit({ agentId: agent.id, claimKey });
        if (!row) break;
        const held = await this.runnable(this.db, kind, row, agent.id);
        if (held) {
          this.sessions.claimed(agent.id);
          return held;
        }
      }
    }
    return undefined;
  }

  /**
   * The held work with its spec; or, when the kind says it cannot be run (UnrunnableWorkError), the
   * item ended as failed with that reason (and its kind's onEnded), and undefined.
   */
  private async runnable(
    db: Db | Transaction<Database>,
    kind: AnyWorkKind,
    row: ClaimedRow,
    agentId: string,
  ): Promise<HeldWork | undefined> {
    try {
      return this.held(kind, row);
    } catch (error) {
      if (!(error instanceof UnrunnableWorkError)) throw error;
      const ending = kind.ending({ outcome: "failed", result: undefined, error: error.message });
      const lease = { id: row.id, leaseToken: row.lease_token ?? "", agentId };
      const fail = async (trx: Transaction<Database>) => {
        const [failed] = await finishWork(trx, kind, [{ lease, ending }]);
        await runOnEnded(trx, kind, failed ? [failed] : []);
      };
      await (db.isTransaction ? fail(db as Transaction<Database>) : db.transaction().execute(fail));
      return undefined;
    }
  }

  private claimBatch(kind: AnyWorkKind, agent: ClaimingAgent) {
    const audience = `${kind.name}\n${agent.orgId}\n${JSON.stringify(Object.entries(agent.labels).sort())}`;
    let batch = this.claimBatches.get(audience);
    if (!batch) {
      batch = new Batcher((claimants) => claimWork(this.db, kind, claimants, this.leaseSeconds, this.kinds), BATCHING);
      this.claimBatches.set(audience, batch);
    }
    return batch;
  }

  private held(kind: AnyWorkKind, { details, again, ...row }: ClaimedRow): HeldWork {
    return { kind, row, spec: kind.spec(row, details), again: again ?? false };
  }

  /** Moves held work into `phase`; a repeated or out-of-order report changes nothing. */
  async advance(kindName: string, lease: Lease, phase: string): Promise<void> {
    const kind = this.kind(kindName);
    if (!kind.phases[phase]) {
      throw invalid(`a ${kind.name}'s phase must be one of ${Object.keys(kind.phases).join(", ")}`);
    }
    await advanceWork(this.db, kind, lease, phase);
  }

  /** Renews every lease the agent names; says per item whether to go on, stop it, or drop it. */
  async renew(agentId: string, held: readonly WorkHandle[]): Promise<LeaseVerdict[]> {
    this.sessions.holding(agentId, held.length);
    const renewed = new Map<string, { leaseExpiresAt: Date; cancel: boolean }>();
    for (const kind of this.kinds) {
      const mine = held.filter((h) => h.kind === kind.name);
      for (const lease of await renewLeases(this.db, kind, agentId, mine, this.leaseSeconds)) {
        renewed.set(`${lease.id}/${lease.lease_token}`, {
          leaseExpiresAt: lease.lease_expires_at,
          cancel: lease.cancel_requested,
        });
      }
    }
    return held.map((h) => {
      const lease = renewed.get(`${h.id}/${h.leaseToken}`);
      if (!lease) return { verdict: "lost" };
      return { verdict: lease.cancel ? "cancel" : "continue", leaseExpiresAt: lease.leaseExpiresAt };
    });
  }

  /** Ends held work as its agent reports; the first terminal write wins. */
  async finish(kindName: string, lease: Lease, report: WorkReport): Promise<WorkRow> {
    const kind = this.kind(kindName);
    const ending = kind.ending(report);
    const hook = kind.onEnded?.statuses.includes(ending.status) ? kind.onEnded : undefined;
    // In a transaction of its own when the kind has something to do as the work ends this way;
    // otherwise in one statement, shared with the other agents finishing work of the same kind.
    const row = hook
      ? await this.db.transaction().execute(async (trx) => {
          const [finished] = await finishWork(trx, kind, [{ lease, ending }]);
          await runOnEnded(trx, kind, finished ? [finished] : []);
          return finished;
        })
      : await this.finishBatch(kind, ending).submit({ lease, ending });
    if (!row) throw new LeaseLostError(lease.id);
    this.sessions.finished(lease.agentId);
    return row;
  }

  private finishBatch(kind: AnyWorkKind, ending: WorkEnding) {
    const shape = `${kind.name}\n${Object.keys(ending.set ?? {}).join()}`;
    let batch = this.finishBatches.get(shape);
    if (!batch) {
      batch = new Batcher((items) => finishWork(this.db, kind, items), BATCHING);
      this.finishBatches.set(shape, batch);
    }
    return batch;
  }

  /** The agent gives held work back unfinished (it is stopping): the reaper's outcome, at once. */
  async release(kindName: string, lease: Lease, reason: string): Promise<WorkRow> {
    const kind = this.kind(kindName);
    const row = await this.givingBack(kind, (db) => releaseWork(db, kind, lease, reason).then((r) => (r ? [r] : [])));
    if (!row[0]) throw new LeaseLostError(lease.id);
    this.sessions.finished(lease.agentId);
    return row[0];
  }

  /** Gives back every item whose lease expired, of every kind; returns how each ended by kind. */
  async reap(): Promise<{ kind: string; outcome: string; count: number }[]> {
    const counts = new Map<string, { kind: string; outcome: string; count: number }>();
    for (const kind of this.kinds) {
      for (const row of await this.givingBack(kind, (db) => reapExpired(db, kind))) {
        // The labels the metric has always had: builds requeued or ended, replicas lost.
        const outcome = row.status === "pending" ? "requeued" : kind.requeue ? "ended" : row.status;
        const entry = counts.get(`${kind.name}/${outcome}`) ?? { kind: kind.name, outcome, count: 0 };
        entry.count++;
        counts.set(`${kind.name}/${outcome}`, entry);
      }
    }
    return [...counts.values()];
  }

  /**
   * Runs a give-back statement, with the kind's onEnded for items that ended in the same
   * transaction, and wakes agents for items that went back to the queue.
   */
  private async givingBack(kind: AnyWorkKind, giveBack: (db: Executor) => Promise<WorkRow[]>): Promise<WorkRow[]> {
    const rows = kind.onEnded
      ? await this.db.transaction().execute(async (trx) => {
          const given = await giveBack(trx);
          await runOnEnded(trx, kind, given);
          return given;
        })
      : await giveBack(this.db);
    if (rows.some((row) => row.status === "pending")) await notifyWork(this.db, kind.name);
    return rows;
  }

  /**
   * Decides, for each item a restarted agent held, whether it runs again (the same attempt under a
   * new lease token), is completed as cancelled, or is forgotten (given back when still held). Each
   * item commits on its own; a retry with the same key finds those already resumed.
   */
  async resume(agentId: string, held: readonly WorkHandle[], resumeKey: string): Promise<ResumeVerdict[]> {
    if (held.length > MAX_RESUMED_ITEMS) throw invalid(`at most ${MAX_RESUMED_ITEMS} held items can be named at once`);
    const kinds = held.map((h) => this.kind(h.kind));
    const verdicts: ResumeVerdict[] = [];
    const answered = new Set<string>();
    for (const [index, handle] of held.entries()) {
      // An item named twice must not run twice: only its first naming can go on.
      if (answered.has(handle.id)) {
        verdicts.push({ verdict: "lost", reason: "named twice" });
        continue;
      }
      answered.add(handle.id);
      const verdict = await this.resumeOne(kinds[index] as AnyWorkKind, { ...handle, agentId }, resumeKey);
      if (verdict.verdict === "continue") this.sessions.claimed(agentId);
      verdicts.push(verdict);
    }
    return verdicts;
  }

  private async resumeOne(kind: AnyWorkKind, lease: Lease, resumeKey: string): Promise<ResumeVerdict> {
    let requeued = false;
    const verdict = await this.db.transaction().execute(async (trx): Promise<ResumeVerdict> => {
      const taken = await resumeLease(trx, kind, lease, this.leaseSeconds, resumeKey);
      switch (taken.state) {
        case "gone":
          return { verdict: "lost", reason: `this claim no longer holds the ${kind.name}` };
        case "cancel-requested":
          return { verdict: "cancel" };
        case "spent": {
          const given = await releaseWork(trx, kind, lease, taken.reason);
          await runOnEnded(trx, kind, given ? [given] : []);
          requeued = given?.status === "pending";
          return { verdict: "lost", reason: `${taken.reason}; it was given back` };
        }
        case "resumed": {
          const work = await this.runnable(trx, kind, taken.row, lease.agentId);
          if (!work) return { verdict: "lost", reason: `the ${kind.name} cannot be run; it failed` };
          return { verdict: "continue", work, nextLogSeq: await nextLogSeq(trx, kind, taken.row) };
        }
      }
    });
    if (requeued) await notifyWork(this.db, kind.name);
    return verdict;
  }

  /** Stores a numbered log chunk of held work; false when it was stored before. */
  appendLog(kindName: string, lease: Lease, seq: number, data: Uint8Array): Promise<boolean> {
    const kind = this.kind(kindName);
    if (!kind.logs) throw invalid(`${kind.name} work keeps no log`);
    if (data.length > MAX_LOG_CHUNK_BYTES) throw invalid(`a log chunk may hold at most ${MAX_LOG_CHUNK_BYTES} bytes`);
    return appendLog(this.db, kind, lease, seq, data);
  }

  /** Gives every live lease one more period; once at start-up, before the reaper runs. */
  async extendLiveLeases(): Promise<number> {
    let extended = 0;
    for (const kind of this.kinds) extended += await extendLiveLeases(this.db, kind, this.leaseSeconds);
    return extended;
  }
}

/** Runs the kind's onEnded, in the caller's transaction, for those of `rows` that ended its way. */
async function runOnEnded(trx: Transaction<Database>, kind: AnyWorkKind, rows: readonly WorkRow[]): Promise<void> {
  const ended = kind.onEnded ? rows.filter((row) => kind.onEnded?.statuses.includes(row.status)) : [];
  if (ended.length > 0) await kind.onEnded?.run(trx, ended);
}
