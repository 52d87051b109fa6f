// Move: a domain change of work that no agent holds (pending work withdrawn, ended work retired),
// with its history. Leased work is changed only by its agent, the reaper, Release or Resume.
import { sql, type RawBuilder } from "kysely";
import type { WorkRow, WorkTable } from "../kind.js";
import { historyColumnOf, historyOf, statusArray, statusValue, tableOf, type Executor } from "./fragments.js";

export interface Move {
  /** A condition over the row `t`, beside its status being one of `from`. */
  where: RawBuilder<boolean>;
  from: readonly string[];
  to: string;
  reason: string;
  actor: string;
  /** Whether the move ends the work (sets finished_at). */
  ends: boolean;
}

export async function moveWork<Row extends WorkRow>(db: Executor, work: WorkTable, move: Move): Promise<Row[]> {
  const leased = move.from.filter((status) => work.leased.includes(status));
  if (leased.length > 0) throw new Error(`moveWork cannot change leased ${work.name} work (${leased.join(", ")})`);
  const result = await sql<Row>`
    WITH old AS (
      SELECT id, status FROM ${tableOf(work)} t
      WHERE t.status = ANY(${statusArray(work, move.from)}) AND (${move.where})
      FOR UPDATE
    ), moved AS (
      UPDATE ${tableOf(work)} t
      SET status = ${statusValue(work, move.to)}, status_reason = ${move.reason}
          ${move.ends ? sql`, finished_at = coalesce(t.finished_at, now())` : sql``}
      FROM old WHERE t.id = old.id
      RETURNING t.*, old.status AS from_status
    ), history AS (
      INSERT INTO ${historyOf(work)} (${historyColumnOf(work)}, from_status, to_status, actor, reason)
      SELECT id, from_status, status, ${move.actor}, status_reason FROM moved
    )
    SELECT * FROM moved`.execute(db);
  return result.rows.map(({ from_status: _, ...row }: Row & { from_status?: unknown }) => row as Row);
}
