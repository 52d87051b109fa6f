import { createHash } from "node:crypto";
import { Kysely, PostgresDialect, type RawBuilder, type Transaction } from "kysely";
import pg from "pg";
import type { Database } from "./schema.js";

// bigint columns (GitHub ids, counters) come back as strings so no precision is lost.
export type Db = Kysely<Database>;
export type Executor = Db | Transaction<Database>;

/**
 * The connections Kysely uses, and beside them a few for the hot path's prepared statements,
 * which plan generically (plan_cache_mode is per connection, and the planner must stay free to
 * choose for every other query: the reaper's, for one, needs a custom plan to use its partial
 * index). Ending one ends both.
 */
class Pools extends pg.Pool {
  readonly prepared: pg.Pool;

  constructor(connectionString: string, max: number) {
    super({ connectionString, max });
    this.prepared = new pg.Pool({
      connectionString,
      max: Math.max(2, Math.ceil(max / 2)),
      // Left to choose, PostgreSQL planned the claim again at every call: 1.95 ms a claim instead
      // of 1.00 (bench/README.md, "One core for leased work").
      options: "-c plan_cache_mode=force_generic_plan",
    });
    // An idle client's error (server restart) must not crash the process; the pool replaces it.
    this.on("error", () => {});
    this.prepared.on("error", () => {});
  }

  override async end(): Promise<void> {
    await Promise.all([this.prepared.end(), super.end()]);
  }
}

const pools = new WeakMap<Db, Pools>();
/** Statement names by text: hashing a statement's text once, not at every call. */
const statementNames = new Map<string, string>();

export function createDatabase(connectionString: string, options: { max?: number } = {}): Db {
  const pool = new Pools(connectionString, options.max ?? 10);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}

/** PostgreSQL's refusal to run a prepared statement whose result's columns a migration changed. */
const CACHED_PLAN_CHANGED = "0A000";

/**
 * Runs a statement of the hot path as a named prepared statement, so that each connection parses
 * and plans it once instead of at every call (graphile/worker does the same for its job queries),
 * with a generic plan: write them so one plan fits all values. Its text must not vary with its
 * data (arrays go in as parameters), or every variant is kept. Inside a transaction it runs on the
 * transaction's connection, as any statement does.
 */
export async function executePrepared<Row>(db: Executor, statement: RawBuilder<Row>): Promise<Row[]> {
  const pool = pools.get(db as Db);
  if (!pool) return (await statement.execute(db)).rows;
  const { sql, parameters } = statement.compile(db);
  let name = statementNames.get(sql);
  if (!name) {
    name = `slipway_${createHash("sha256").update(sql).digest("hex").slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  const query = { name, text: sql, values: [...parameters] };
  for (let attempt = 1; ; attempt++) {
    const client = await pool.prepared.connect();
    try {
      const result = await client.query<Row & pg.QueryResultRow>(query);
      client.release();
      return result.rows;
    } catch (error) {
      // The connection goes, as pg's own pool.query() does on an error. When a migration run by
      // another control plane changed a table the statement returns, the connection's copy of the
      // statement could never run again: one try is repeated, on a fresh connection.
      client.release(error as Error);
      if ((error as { code?: unknown }).code !== CACHED_PLAN_CHANGED || attempt > 1) throw error;
    }
  }
}
