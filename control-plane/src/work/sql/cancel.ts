// Cancel: pending work ends at once; running work is marked, and its agent is told (NOTIFY, and
// every heartbeat reply until it stops); ended work is left alone.
import { sql } from "kysely";
import type { WorkRow, WorkTable } from "../kind.js";
import { tableOf, type Executor } from "./fragments.js";
import { moveWork } from "./move.js";
import { notifyCancel } from "./notify.js";

export type CancelResult<Row> =
  { outcome: "cancelled"; row: Row } | { outcome: "requested"; row: Row } | { outcome: "finished"; row: Row };

/** Call inside a transaction. Undefined when there is no such item. */
export async function cancelWork<Row extends WorkRow>(
  trx: Executor,
  work: WorkTable,
  id: string,
  actor: string,
): Promise<CancelResult<Row> | undefined> {
  if (!work.cancellable) throw new Error(`${work.name} work cannot be cancelled`);
  const found = await sql<Row>`SELECT * FROM ${tableOf(work)} WHERE id = ${id} FOR UPDATE`.execute(trx);
  const row = found.rows[0];
  if (!row) return undefined;
  if (row.status === "pending") {
    const [cancelled] = await moveWork<Row>(trx, work, {
      where: sql<boolean>`t.id = ${id}`,
      from: ["pending"],
      to: "cancelled",
      reason: "cancelled before it started",
      actor,
      ends: true,
    });
    return { outcome: "cancelled", row: cancelled as Row };
  }
  if (!work.leased.includes(row.status)) return { outcome: "finished", row };
  const marked = await sql<Row>`
    UPDATE ${tableOf(work)} SET cancel_requested_at = coalesce(cancel_requested_at, now())
    WHERE id = ${id} RETURNING *`.execute(trx);
  await notifyCancel(trx, { kind: work.name, id, agentId: row.claimed_by });
  return { outcome: "requested", row: marked.rows[0] as Row };
}
