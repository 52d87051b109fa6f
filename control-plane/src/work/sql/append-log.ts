// Logs arrive as numbered chunks per attempt. Storing is idempotent on (work item, attempt, seq), so
// an agent may resend anything it has not seen acknowledged; only the lease holder may write.
import { sql } from "kysely";
import { executePrepared } from "../../db/database.js";
import { LeaseLostError } from "../../errors.js";
import type { Lease, WorkTable } from "../kind.js";
import { heldUnder, tableOf, type Executor } from "./fragments.js";

/** The most one chunk may hold. */
export const MAX_LOG_CHUNK_BYTES = 256 * 1024;

/** Payload: the id of a work item whose log grew. */
export const LOG_CHANNEL = "slipway_log";

/** Stores one chunk; false when it was stored before. Throws LeaseLostError when the lease is gone. */
export async function appendLog(db: Executor, work: WorkTable, lease: Lease, seq: number, data: Uint8Array) {
  if (!work.logs) throw new Error(`${work.name} work keeps no log`);
  const [row] = await executePrepared(
    db,
    sql<{ held: boolean; stored: boolean }>`
    WITH held AS (
      SELECT id, attempt FROM ${tableOf(work)} w WHERE ${heldUnder(work, "w", lease)}
    ), stored AS (
      INSERT INTO ${sql.table(work.logs.table)} (${sql.ref(work.logs.workColumn)}, attempt, seq, data)
      SELECT id, attempt, ${seq}, ${Buffer.from(data)} FROM held
      ON CONFLICT DO NOTHING
      RETURNING seq
    ), followers AS (
      -- Live followers (SSE) on every control plane hear of the new chunk.
      SELECT pg_notify(${LOG_CHANNEL}, ${lease.id}) FROM stored
    )
    SELECT EXISTS (SELECT 1 FROM held) AS held, EXISTS (SELECT 1 FROM stored) AS stored,
           (SELECT count(*) FROM followers) AS notified`,
  );
  if (!row?.held) throw new LeaseLostError(lease.id);
  return row.stored;
}
