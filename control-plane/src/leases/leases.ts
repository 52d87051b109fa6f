// The lease machinery every kind of claimable work shares (builds, deploy work items): a claim stamps
// a lease token and expiry; later writes name the token; heartbeats renew; a stale token is refused.
import { sql, type Transaction } from "kysely";
import type { Db } from "../db/database.js";
import type { BuildStatus, Database, DeployItemStatus } from "../db/schema.js";

export type Executor = Db | Transaction<Database>;

/** The caller's lease on a work item is gone: it must stop the work and write nothing more. */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  constructor(readonly workId: string) {
    super(`lease lost on ${workId}: the work was re-queued, cancelled or finished elsewhere`);
  }
}

/** A table of leased work: its name, its status enum, and the states in which a lease is held. */
export interface LeasedWork<Status extends string> {
  table: "builds" | "deploy_work_items";
  statusType: "build_status" | "deploy_item_status";
  leased: readonly Status[];
  /** Whether the work can be cancelled (then a lease is not renewed long after a cancel). */
  cancellable: boolean;
}

export const BUILD_LEASES: LeasedWork<BuildStatus> = {
  table: "builds",
  statusType: "build_status",
  leased: ["claimed", "cloning", "building", "pushing"],
  cancellable: true,
};

export const DEPLOY_ITEM_LEASES: LeasedWork<DeployItemStatus> = {
  table: "deploy_work_items",
  statusType: "deploy_item_status",
  leased: ["claimed", "pulling", "starting"],
  cancellable: false,
};

/** Identifies one claim of one work item in the map renewLeases returns. */
export const leaseKey = (id: string, leaseToken: string) => `${id}/${leaseToken}`;

/** Whether `agentId` still holds the live lease `leaseToken` on work item `id`. */
export async function holdsLease<S extends string>(
  db: Executor,
  work: LeasedWork<S>,
  lease: { id: string; leaseToken: string; agentId: string },
): Promise<boolean> {
  const result = await sql`
    SELECT 1 FROM ${sql.table(work.table)}
    WHERE id = ${lease.id} AND lease_token = ${lease.leaseToken} AND claimed_by = ${lease.agentId}
      AND status = ANY(${[...work.leased]}::${sql.raw(work.statusType)}[])`.execute(db);
  return result.rows.length > 0;
}

/** Extends every lease the agent still holds; returns the new expiry by leaseKey. */
export async function renewLeases<S extends string>(
  db: Executor,
  work: LeasedWork<S>,
  agentId: string,
  held: { id: string; leaseToken: string }[],
  leaseSeconds: number,
): Promise<Map<string, Date>> {
  if (held.length === 0) return new Map();
  const result = await sql<{ id: string; lease_token: string; lease_expires_at: Date }>`
    UPDATE ${sql.table(work.table)} AS w
    SET lease_expires_at = now() + make_interval(secs => ${leaseSeconds}), lease_extended = false
    FROM unnest(${held.map((h) => h.id)}::uuid[], ${held.map((h) => h.leaseToken)}::uuid[]) AS h(id, lease_token)
    WHERE w.id = h.id AND w.lease_token = h.lease_token AND w.claimed_by = ${agentId}
      AND w.status = ANY(${[...work.leased]}::${sql.raw(work.statusType)}[])
      ${
        // An agent that keeps heartbeating but never stops cancelled work loses it after two lease
        // periods: the reaper then ends it as cancelled.
        work.cancellable
          ? sql`AND (w.cancel_requested_at IS NULL OR w.cancel_requested_at > now() - make_interval(secs => ${leaseSeconds * 2}))`
          : sql``
      }
    RETURNING w.id, w.lease_token, w.lease_expires_at`.execute(db);
  return new Map(result.rows.map((row) => [leaseKey(row.id, row.lease_token), row.lease_expires_at]));
}

/**
 * After a control plane starts, agents may have been unable to heartbeat while it was down: give
 * every live lease one full lease period from now, so the reaper does not take work from agents
 * that were only waiting for us. Run once at start-up, before the reaper.
 */
export async function extendLiveLeases(db: Executor, leaseSeconds: number): Promise<number> {
  let extended = 0;
  for (const work of [BUILD_LEASES, DEPLOY_ITEM_LEASES] as LeasedWork<string>[]) {
    const result = await sql`
      UPDATE ${sql.table(work.table)}
      SET lease_expires_at = greatest(lease_expires_at, now() + make_interval(secs => ${leaseSeconds})),
          lease_extended = true
      WHERE status = ANY(${[...work.leased]}::${sql.raw(work.statusType)}[]) AND NOT lease_extended`.execute(db);
    extended += Number(result.numAffectedRows ?? 0);
  }
  return extended;
}

/** How often one claim may be resumed after its agent restarted; beyond, the work is given back. */
export const MAX_RESUMES_PER_CLAIM = 1;

/** What a restarted agent is told to do with an item its previous run held. */
export type ResumeDecision<Row> =
  | { verdict: "continue"; row: Row; nextLogSeq: number }
  | { verdict: "cancel" }
  | { verdict: "lost"; reason: string; gaveBack: boolean };

/** What a restarted agent's claim on a work item still allows; see resumeLease. */
export type ResumableLease<Row> =
  /** This claim no longer holds the item (it ended, was re-queued, or was never this agent's). */
  | { state: "gone" }
  /** Still held, but someone asked to cancel it: the agent completes it as cancelled. */
  | { state: "cancel-requested" }
  /** Still held, but its lease ran out or it was resumed already: the caller gives it back. */
  | { state: "spent"; reason: string }
  /**
   * Renewed for the agent to run again from the start: status back to `claimed`, a new lease token,
   * one resume used. `repeated` when this very request resumed it before (its reply was lost).
   */
  | { state: "resumed"; row: Row; from: string; repeated: boolean };

/**
 * Takes back a claim its agent held before restarting. Nothing of the work runs any more, so a live
 * claim starts over under a new lease token: whatever the previous run still had in flight carries
 * the old one and is refused. `resumeKey` makes a retried request find what it already did. Locks
 * the row: call inside the transaction that acts on the answer.
 */
export async function resumeLease<S extends string, Row>(
  trx: Transaction<Database>,
  work: LeasedWork<S>,
  lease: { id: string; leaseToken: string; agentId: string },
  leaseSeconds: number,
  resumeKey: string,
): Promise<ResumableLease<Row>> {
  const leased = sql`status = ANY(${[...work.leased]}::${sql.raw(work.statusType)}[])`;
  const again = await sql<Row & { status: string }>`
    SELECT * FROM ${sql.table(work.table)}
    WHERE id = ${lease.id} AND claimed_by = ${lease.agentId} AND claim_key = ${resumeKey} AND ${leased}
    FOR UPDATE`.execute(trx);
  const done = again.rows[0];
  if (done) return { state: "resumed", row: done, from: done.status, repeated: true };

  const held = await sql<{ status: string; live: boolean; resumes: number; cancel_requested: boolean }>`
    SELECT status, lease_expires_at > now() AS live, resumes,
           ${work.cancellable ? sql`cancel_requested_at IS NOT NULL` : sql`false`} AS cancel_requested
    FROM ${sql.table(work.table)}
    WHERE id = ${lease.id} AND lease_token = ${lease.leaseToken} AND claimed_by = ${lease.agentId} AND ${leased}
    FOR UPDATE`.execute(trx);
  const row = held.rows[0];
  if (!row) return { state: "gone" };
  if (row.cancel_requested) return { state: "cancel-requested" };
  if (!row.live) return { state: "spent", reason: "its lease expired while the agent was down" };
  if (row.resumes >= MAX_RESUMES_PER_CLAIM) {
    return { state: "spent", reason: "the agent restarted again while running it" };
  }
  const resumed = await sql<Row>`
    UPDATE ${sql.table(work.table)}
    SET status = 'claimed', resumes = resumes + 1, lease_extended = false, claim_key = ${resumeKey},
        lease_token = gen_random_uuid(), lease_expires_at = now() + make_interval(secs => ${leaseSeconds})
    WHERE id = ${lease.id}
    RETURNING *`.execute(trx);
  return { state: "resumed", row: resumed.rows[0] as Row, from: row.status, repeated: false };
}
