// Real PostgreSQL for tests: a template database migrated once per run, and a fresh copy of it for
// every test file (fast, and isolated from every other file).
import { randomBytes } from "node:crypto";
import pg from "pg";
import { createDatabase, migrateToLatest, type Db } from "@slipway/control-plane";

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://slipway:slipway@127.0.0.1:5432/postgres";
const TEMPLATE = "slipway_test_template";

function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Rebuilds the template from migrations/ (global setup, once per run). */
export async function prepareTemplate(): Promise<void> {
  await admin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${TEMPLATE}`);
  });
  const db = createDatabase(urlFor(TEMPLATE), { max: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}

export interface TestDatabase {
  url: string;
  db: Db;
  drop(): Promise<void>;
}

/** A new database copied from the template; drop() removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `slipway_test_${randomBytes(6).toString("hex")}`;
  await admin((client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`));
  const url = urlFor(name);
  const db = createDatabase(url);
  return {
    url,
    db,
    async drop() {
      await db.destroy();
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
