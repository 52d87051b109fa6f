// Resume: an agent that restarted names a claim its previous run held. Nothing of that run is
// going on any more, so a live claim starts over under a new lease token: whatever the old run
// still had in flight carries the old token and is refused. `resumeKey` (one per restart) lets a
// retried request find what it already did. Locks the row: call inside the transaction that acts
// on the answer.
import { sql } from "kysely";
import type { Lease, WorkRow, WorkTable } from "../kind.js";
import {
  agentActor,
  cancelRequestedOf,
  heldUnder,
  historyColumnOf,
  historyOf,
  statusArray,
  statusValue,
  tableOf,
  type Executor,
} from "./fragments.js";
import type { ClaimedRow } from "./claim.js";

/** How often one claim may be resumed after its agent restarted; beyond, the work is given back. */
const MAX_RESUMES_PER_CLAIM = 1;

export type ResumableLease<Row extends WorkRow> =
  /** This claim no longer holds the item (it ended, was re-queued, or was never this agent's). */
  | { state: "gone" }
  /** Still held, but someone asked to cancel it: the agent completes it as cancelled. */
  | { state: "cancel-requested" }
  /** Still held, but its lease ran out or it was resumed already: the caller gives it back. */
  | { state: "spent"; reason: string }
  /**
   * Renewed for the agent to run again from the start: status back to 'claimed', a new lease
   * token, one resume used (or already renewed by this very request, whose reply was lost).
   */
  | { state: "resumed"; row: ClaimedRow<Row> };

export async function resumeLease<Row extends WorkRow>(
  trx: Executor,
  work: WorkTable,
  lease: Lease,
  leaseSeconds: number,
  resumeKey: string,
): Promise<ResumableLease<Row>> {
  const leased = sql`w.status = ANY(${statusArray(work, work.leased)})`;
  const again = await sql<ClaimedRow<Row>>`
    SELECT w.*, ${work.details(sql`w`)} AS details FROM ${tableOf(work)} w
    WHERE w.id = ${lease.id} AND w.claimed_by = ${lease.agentId} AND w.claim_key = ${resumeKey} AND ${leased}
    FOR UPDATE OF w`.execute(trx);
  const done = again.rows[0];
  if (done) return { state: "resumed", row: done };

  const held = await sql<{ status: string; live: boolean; resumes: number; cancel_requested: boolean }>`
    SELECT status, lease_expires_at > now() AS live, resumes, ${cancelRequestedOf(work, "w")} AS cancel_requested
    FROM ${tableOf(work)} w WHERE ${heldUnder(work, "w", lease)}
    FOR UPDATE`.execute(trx);
  const row = held.rows[0];
  if (!row) return { state: "gone" };
  if (row.cancel_requested) return { state: "cancel-requested" };
  if (!row.live) return { state: "spent", reason: "its lease expired while the agent was down" };
  if (row.resumes >= MAX_RESUMES_PER_CLAIM)
    return { state: "spent", reason: "the agent restarted again while running it" };
  const resumed = await sql<ClaimedRow<Row>>`
    WITH resumed AS (
      UPDATE ${tableOf(work)} w
      SET status = 'claimed', resumes = resumes + 1, lease_extended = false, claim_key = ${resumeKey},
          lease_token = gen_random_uuid(), lease_expires_at = now() + make_interval(secs => ${leaseSeconds})
      WHERE id = ${lease.id}
      RETURNING w.*
    ), history AS (
      INSERT INTO ${historyOf(work)} (${historyColumnOf(work)}, from_status, to_status, actor, reason)
      SELECT id, ${statusValue(work, row.status)}, 'claimed', ${agentActor(lease.agentId)},
             'the agent restarted; attempt ' || attempt || ' starts over'
      FROM resumed
    )
    SELECT resumed.*, ${work.details(sql`resumed`)} AS details FROM resumed`.execute(trx);
  return { state: "resumed", row: resumed.rows[0] as ClaimedRow<Row> };
}

/** The first log sequence number not yet stored for the row's current attempt. */
export async function nextLogSeq(db: Executor, work: WorkTable, row: WorkRow): Promise<number> {
  if (!work.logs) return 0;
  const result = await sql<{ next: number }>`
    SELECT coalesce(max(seq), 0) + 1 AS next FROM ${sql.table(work.logs.table)}
    WHERE ${sql.ref(work.logs.workColumn)} = ${row.id} AND attempt = ${row.attempt}`.execute(db);
  return Number(result.rows[0]?.next ?? 1);
}
