// Applies migrations/*.sql in name order through kysely's Migrator, which serialises concurrent
// runs with an advisory lock and records what ran in kysely_migration.
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { sql, Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from "kysely";
import type { Db } from "./database.js";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../migrations/", import.meta.url));

class SqlFileMigrationProvider implements MigrationProvider {
  constructor(private readonly dir: string) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.dir)).filter((name) => name.endsWith(".sql")).sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const text = await readFile(`${this.dir}/${file}`, "utf8");
      migrations[file.replace(/\.sql$/, "")] = {
        up: async (db) => {
          await sql.raw(text).execute(db);
        },
      };
    }
    return migrations;
  }
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

/** Brings the database up to the newest migration; returns the names applied by this call. */
export async function migrateToLatest(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new SqlFileMigrationProvider(dir) });
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new MigrationError(`migrate: ${failed} failed: ${(error as Error).message}`);
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
