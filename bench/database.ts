// The PostgreSQL server the benchmarks create their databases on (one fresh database per run,
// dropped at the end): the dev stack's, or BENCH_DATABASE_ADMIN_URL.
import pg from "pg";

export const ADMIN_URL =
  process.env.BENCH_DATABASE_ADMIN_URL ??
  process.env.TEST_DATABASE_ADMIN_URL ??
  "postgres://slipway:slipway@127.0.0.1:5432/postgres";

/** Runs one statement (CREATE/DROP DATABASE) on the admin connection. */
export async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The connection URL of `database` on the same server. */
export function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}
