// Enqueue: new pending work and its first history rows. Every producer goes through here: webhook
// pushes embed pendingWork() in their own single statement (github/push-recorder.ts); everyone else
// calls enqueueWork() with a batch of rows, inside their transaction.
import { sql, type RawBuilder } from "kysely";
import type { WorkRow, WorkTable } from "../kind.js";
import { historyColumnOf, historyOf, tableOf, type Executor } from "./fragments.js";

/**
 * Two CTEs, to be placed in a WITH list: `as` inserts the rows `rows` selects (its columns in the
 * order of `columns`) and returns them; `<as>_history` records each as created by `actor`, an
 * expression over the inserted row.
 */
export function pendingWork(
  work: WorkTable,
  as: string,
  columns: readonly string[],
  rows: RawBuilder<unknown>,
  actor: RawBuilder<unknown>,
): RawBuilder<unknown> {
  return sql`${sql.id(as)} AS (
      INSERT INTO ${tableOf(work)} (${sql.join(columns.map((column) => sql.id(column)))})
      ${rows}
      RETURNING *
    ), ${sql.id(`${as}_history`)} AS (
      INSERT INTO ${historyOf(work)} (${historyColumnOf(work)}, from_status, to_status, actor)
      SELECT id, NULL, 'pending', ${actor} FROM ${sql.id(as)}
    )`;
}

/**
 * Inserts pending work in one statement, `actor` named in its history. Every row gives the same
 * columns (those of the first); the rest take their defaults. Wake agents in the same transaction
 * (sql/notify.ts#notifyWork) once it is committed work.
 */
export async function enqueueWork<Row extends WorkRow>(
  db: Executor,
  work: WorkTable,
  rows: readonly Record<string, unknown>[],
  actor: string,
): Promise<Row[]> {
  const first = rows[0];
  if (!first) return [];
  const columns = Object.keys(first);
  // jsonb_populate_recordset reads each object as a row of the table, so every column keeps its type.
  const source = sql`SELECT ${sql.join(columns.map((column) => sql.ref(`input.${column}`)))}
    FROM jsonb_populate_recordset(NULL::${tableOf(work)}, ${JSON.stringify(rows)}::jsonb) AS input`;
  const result = await sql<Row>`
    WITH ${pendingWork(work, "inserted", columns, source, sql`${actor}::text`)}
    SELECT * FROM inserted`.execute(db);
  return result.rows;
}
