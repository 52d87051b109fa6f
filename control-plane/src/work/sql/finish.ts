// Finish: agents holding work items end them, any number in one statement. The first terminal write
// wins: a second one with the same lease finds the item no longer leased and changes nothing.
import { sql } from "kysely";
import { executePrepared } from "../../db/database.js";
import type { Lease, WorkEnding, WorkRow, WorkTable } from "../kind.js";
import { historyColumnOf, historyOf, statusArray, tableOf, type Executor } from "./fragments.js";

export interface Finishing {
  lease: Lease;
  ending: WorkEnding;
}

/**
 * Ends each item as its ending says; every ending sets the same columns of the kind's own. Returns,
 * per item, the ended row, or undefined when the lease was gone (or came earlier in the list).
 */
export async function finishWork<Row extends WorkRow>(
  db: Executor,
  work: WorkTable,
  items: readonly Finishing[],
): Promise<(Row | undefined)[]> {
  const columns = Object.keys(items[0]?.ending.set ?? {});
  // One lease named twice ends once: the later naming finds it ended. Two leases on one item (a
  // stale holder's and the current one's) both go in; the fence decides.
  const leaseOf = ({ lease }: Finishing) => `${lease.id}/${lease.leaseToken}/${lease.agentId}`;
  const first = new Map<string, Finishing>();
  for (const item of items) if (!first.has(leaseOf(item))) first.set(leaseOf(item), item);
  const input = [...first.values()].map(({ lease, ending }) => {
    if (Object.keys(ending.set ?? {}).join() !== columns.join())
      throw new Error("finishWork: endings set other columns");
    return {
      ...ending.set,
      id: lease.id,
      lease_token: lease.leaseToken,
      claimed_by: lease.agentId,
      status: ending.status,
      status_reason: ending.reason,
    };
  });
  if (input.length === 0) return [];
  const rows = await executePrepared(
    db,
    sql<Row & { from_status: string }>`
    WITH input AS (
      -- Each object read as a row of the table, so every value has its column's type.
      SELECT * FROM jsonb_populate_recordset(NULL::${tableOf(work)}, ${JSON.stringify(input)}::jsonb)
    ), held AS (
      SELECT w.id, w.status, w.lease_token, w.claimed_by FROM ${tableOf(work)} w
      JOIN input ON input.id = w.id AND input.lease_token = w.lease_token AND input.claimed_by = w.claimed_by
      WHERE w.status = ANY(${statusArray(work, work.leased)})
      FOR UPDATE OF w
    ), finished AS (
      UPDATE ${tableOf(work)} t
      SET status = input.status,
          status_reason = input.status_reason,
          ${sql.join([...columns.map((column) => sql`${sql.ref(column)} = ${sql.ref(`input.${column}`)}`), sql``])}
          lease_expires_at = NULL,
          finished_at = now()
      FROM held JOIN input
        ON input.id = held.id AND input.lease_token = held.lease_token AND input.claimed_by = held.claimed_by
      WHERE t.id = held.id
      RETURNING t.*, held.status AS from_status
    ), history AS (
      INSERT INTO ${historyOf(work)} (${historyColumnOf(work)}, from_status, to_status, actor, reason)
      SELECT id, from_status, status, 'agent:' || claimed_by, status_reason FROM finished
    )
    SELECT * FROM finished`,
  );
  const ended = new Map(
    rows.map(({ from_status: _, ...row }) => [`${row.id}/${row.lease_token}/${row.claimed_by}`, row as unknown as Row]),
  );
  return items.map((item) => (first.get(leaseOf(item)) === item ? ended.get(leaseOf(item)) : undefined));
}
