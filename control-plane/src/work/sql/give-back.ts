// Give back: work whose agent gave up on it (its lease expired, it released the work, or it
// restarted twice while running it) goes back to 'pending' for another attempt; it ends instead
// as 'cancelled' when someone asked to cancel it, and as the kind's given-up status when the kind
// never re-runs work or its attempts are spent. One statement moves the rows and records them.
import { sql, type RawBuilder } from "kysely";
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

interface GiveBackWords {
  actor: string;
  /** The reason a cancelled item ends with. */
  cancelled: string;
  /** The reason an item that cannot go back ends with. */
  givenUp: string;
  /** What its history row says: an expression over the given-back row. */
  history: RawBuilder<unknown>;
}

async function giveBack<Row extends WorkRow>(
  db: Executor,
  work: WorkTable,
  /** Selects `id, status` of the rows, locked. */
  selection: RawBuilder<unknown>,
  words: GiveBackWords,
): Promise<Row[]> {
  const cancel = cancelRequestedOf(work, "t");
  const spent = work.requeue ? sql`t.attempt >= t.max_attempts` : sql`true`;
  const givenUp = work.requeue
    ? sql`${words.givenUp}::text || ' on attempt ' || t.attempt || ' of ' || t.max_attempts`
    : sql`${words.givenUp}::text`;
  const result = await sql<Row>`
    WITH held AS (${selection}), back AS (
      UPDATE ${tableOf(work)} t
      SET status = CASE WHEN ${cancel} THEN ${statusValue(work, "cancelled")}
                        WHEN ${spent} THEN ${statusValue(work, work.givenUpStatus)}
                        ELSE ${statusValue(work, "pending")} END,
          status_reason = CASE WHEN ${cancel} THEN ${words.cancelled}::text WHEN ${spent} THEN ${givenUp} END,
          finished_at = CASE WHEN ${cancel} OR ${spent} THEN now() END,
          -- Pending work belongs to no agent; ended work remembers who ran it last.
          claimed_by = CASE WHEN ${cancel} OR ${spent} THEN t.claimed_by END,
          lease_token = NULL,
          lease_expires_at = NULL
      FROM held
      WHERE t.id = held.id
      RETURNING t.*, held.status AS from_status
    ), history AS (
      INSERT INTO ${historyOf(work)} (${historyColumnOf(work)}, from_status, to_status, actor, reason)
      SELECT id, from_status, status, ${words.actor}, ${words.history} FROM back
    )
    SELECT * FROM back`.execute(db);
  return result.rows.map(({ from_status: _, ...row }: Row & { from_status?: unknown }) => row as Row);
}

/**
 * Gives back every item whose lease expired. Safe on several control planes at once: SKIP LOCKED
 * hands each expired item to one reaper.
 */
export function reapExpired<Row extends WorkRow>(db: Executor, work: WorkTable): Promise<Row[]> {
  return giveBack<Row>(
    db,
    work,
    sql`SELECT id, status FROM ${tableOf(work)}
        WHERE status = ANY(${statusArray(work, work.leased)}) AND lease_expires_at < now()
        FOR UPDATE SKIP LOCKED`,
    {
      actor: "system:reaper",
      cancelled: "cancelled; the agent stopped answering before it confirmed",
      givenUp: "the agent stopped answering",
      history: sql`'lease expired on attempt ' || attempt`,
    },
  );
}

/** Gives back one item its agent holds (it cannot finish it); undefined when the lease is gone. */
export async function releaseWork<Row extends WorkRow>(
  db: Executor,
  work: WorkTable,
  lease: Lease,
  reason: string,
): Promise<Row | undefined> {
  const [row] = await giveBack<Row>(
    db,
    work,
    sql`SELECT id, status FROM ${tableOf(work)} w WHERE ${heldUnder(work, "w", lease)} FOR UPDATE`,
    {
      actor: agentActor(lease.agentId),
      cancelled: "cancelled by a user",
      givenUp: reason,
      history: sql`${reason}::text`,
    },
  );
  return row;
}
