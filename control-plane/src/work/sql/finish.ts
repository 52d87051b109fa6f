// Finish: the agent holding a work item ends it. The first terminal write wins: a second one with
// the same lease finds the item no longer leased and changes nothing (the caller gets undefined).
import { sql } from "kysely";
import type { Lease, WorkEnding, WorkRow, WorkTable } from "../kind.js";
import { agentActor, heldUnder, historyColumnOf, historyOf, statusValue, tableOf, type Executor } from "./fragments.js";

export async function finishWork<Row extends WorkRow>(
  db: Executor,
  work: WorkTable,
  lease: Lease,
  ending: WorkEnding,
): Promise<Row | undefined> {
  const columns = Object.entries(ending.set ?? {}).map(([column, value]) => sql`${sql.ref(column)} = ${value}`);
  const result = await sql<Row>`
    WITH held AS (
      SELECT id, status FROM ${tableOf(work)} w WHERE ${heldUnder(work, "w", lease)} FOR UPDATE
    ), finished AS (
      UPDATE ${tableOf(work)} t
      SET status = ${statusValue(work, ending.status)},
          status_reason = ${ending.reason},
          ${columns.length > 0 ? sql`${sql.join(columns)},` : sql``}
          lease_expires_at = NULL,
          finished_at = now()
      FROM held
      WHERE t.id = held.id
      RETURNING t.*, held.status AS from_status
    ), history AS (
      INSERT INTO ${historyOf(work)} (${historyColumnOf(work)}, from_status, to_status, actor, reason)
      SELECT id, from_status, status, ${agentActor(lease.agentId)}, status_reason FROM finished
    )
    SELECT * FROM finished`.execute(db);
  const row = result.rows[0];
  if (!row) return undefined;
  delete (row as { from_status?: unknown }).from_status;
  return row;
}
