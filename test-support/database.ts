// Real PostgreSQL for tests: a template database migrated once per run, and a fresh copy of it for
// every test file (fast, and isolated from every other file).
import { randomBytes } from "node:crypto";
import pg from "pg";
import { createDatabase, migrateToLatest, type Db } from "@slipway/control-plane";

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://slipway:slipway@127.0.0.1:5432/postgres";
/**
 * Each test run migrates its own template, so two runs on one machine never drop each other's.
 * The global setup picks the name and hands it to test workers through the environment.
 */
export const TEMPLATE_ENV = "SLIPWAY_TEST_TEMPLATE";
function templateName(): string {
  const name = process.env[TEMPLATE_ENV];
  if (!name)
    throw new Error(`${TEMPLATE_ENV} is not set: run tests through vitest (its global setup prepares the template)`);
  return name;
}

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

/** Creates and migrates a template database (global setup, once per run); returns its name. */
export async function prepareTemplate(): Promise<string> {
  const name = `slipway_template_${randomBytes(6).toString("hex")}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const db = createDatabase(urlFor(name), { max: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  return name;
}

export async function dropDatabase(name: string): Promise<void> {
  await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

export interface TestDatabase {
  url: string;
  db: Db;
  drop(): Promise<void>;
}

/** A new database copied from the template; drop() removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `slipway_test_${randomBytes(6).toString("hex")}`;
  await admin((client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${templateName()}`));
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
