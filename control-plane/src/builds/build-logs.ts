// Reading a build's log. Agents store it as numbered chunks per attempt through the work core
// (work/sql/append-log.ts, idempotent on build, attempt and seq).
import type { Db } from "../db/database.js";

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
