// The hot path's prepared statements against a real database whose schema changes under them.
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/database.js";
import { createDatabase, executePrepared, type Db } from "./database.js";

describe("prepared statements", () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDatabase(database.url, { max: 2 });
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it("keep working when another control plane's migration adds a column to the table they return", async () => {
    await sql`CREATE TABLE probe (id int PRIMARY KEY, name text)`.execute(db);
    await sql`INSERT INTO probe VALUES (1, 'one')`.execute(db);
    const read = () => executePrepared(db, sql<Record<string, unknown>>`SELECT * FROM probe WHERE id = ${1}`);
    // Prepared on every connection of the pool it uses.
    await Promise.all([read(), read(), read()]);
    await sql`ALTER TABLE probe ADD COLUMN note text DEFAULT 'added'`.execute(db);
    expect(await Promise.all([read(), read(), read()])).toEqual(
      Array.from({ length: 3 }, () => [{ id: 1, name: "one", note: "added" }]),
    );
  });

  it("leave the planner free for every other query", async () => {
    const { rows } = await sql<{ plan_cache_mode: string }>`SHOW plan_cache_mode`.execute(db);
    expect(rows).toEqual([{ plan_cache_mode: "auto" }]);
  });
});
