// Build logs arrive as numbered chunks per attempt. Storing is idempotent on (build, attempt, seq),
// so an agent may resend anything it has not seen acknowledged.
import { sql } from "kysely";
import type { Db } from "../db/database.js";
import { BUILD_LEASES, LeaseLostError, holdsLease } from "../leases/leases.js";
import { LEASED_BUILD_STATUSES } from "./build-status.js";

export const MAX_LOG_CHUNK_BYTES = 256 * 1024;

export async function appendLogChunk(
  db: Db,
  input: { buildId: string; leaseToken: string; agentId: string; seq: number; data: Uint8Array },
): Promise<boolean> {
  const stored = await sql<{ seq: number }>`
    INSERT INTO build_log_chunks (build_id, attempt, seq, data)
    SELECT id, attempt, ${input.seq}, ${Buffer.from(input.data)} FROM builds
    WHERE id = ${input.buildId} AND lease_token = ${input.leaseToken} AND claimed_by = ${input.agentId}
      AND status = ANY(${[...LEASED_BUILD_STATUSES]}::build_status[])
    ON CONFLICT DO NOTHING
    RETURNING seq`.execute(db);
  if (stored.rows.length > 0) {
    // Live followers (SSE) on any control plane hear of the new chunk.
    await sql`SELECT pg_notify('slipway_log', ${input.buildId})`.execute(db);
    return true;
  }
  // Nothing stored: either a duplicate (fine) or the lease is gone (the agent must stop).
  const lease = { id: input.buildId, leaseToken: input.leaseToken, agentId: input.agentId };
  if (!(await holdsLease(db, BUILD_LEASES, lease))) throw new LeaseLostError(input.buildId);
  return false;
}

export interface LogChunk {
  attempt: number;
  seq: number;
  text: string;
}

/** Chunks in order (attempt, seq) after the given position. */
export async function readLogChunks(
  db: Db,
  buildId: string,
  after: { attempt: number; seq: number },
  limit: number,
): Promise<LogChunk[]> {
  const rows = await db
    .selectFrom("build_log_chunks")
    .select(["attempt", "seq", "data"])
    .where("build_id", "=", buildId)
    .where((eb) =>
      eb.or([
        eb("attempt", ">", after.attempt),
        eb.and([eb("attempt", "=", after.attempt), eb("seq", ">", after.seq)]),
      ]),
    )
    .orderBy("attempt")
    .orderBy("seq")
    .limit(limit)
    .execute();
  return rows.map((row) => ({ attempt: row.attempt, seq: row.seq, text: row.data.toString("utf8") }));
}
