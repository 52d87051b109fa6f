// Re-seals every value the database keeps sealed under the secret box's current key, in one
// transaction: after it, SLIPWAY_SECRET_KEY_PREVIOUS can be emptied. A value that opens with none of
// the keys stops it with nothing changed. A new sealed column (`*_enc`) must be listed here:
// rotate-secrets.test.ts compares this list with the database's columns.
import { sql } from "kysely";
import type { Db } from "../db/database.js";
import { SecretBoxError, type SecretBox } from "./secret-box.js";

/** Every sealed column, by table, with the table's key. */
export const SEALED_COLUMNS = [
  { table: "certificate_authority", key: "id", columns: ["private_key_enc"] },
  { table: "github_apps", key: "id", columns: ["client_secret_enc", "webhook_secret_enc", "private_key_enc"] },
  { table: "variables", key: "id", columns: ["value_enc"] },
] as const;

export interface RotationCount {
  /** table.column */
  column: string;
  /** Values that were sealed under a previous key and now are under the current one. */
  resealed: number;
  /** Values already under the current key. */
  current: number;
}

export class RotationError extends Error {
  override name = "RotationError";
}

export async function rotateSecrets(db: Db, box: SecretBox): Promise<RotationCount[]> {
  return db.transaction().execute(async (trx) => {
    const counts: RotationCount[] = [];
    for (const { table, key, columns } of SEALED_COLUMNS) {
      const { rows } = await sql<Record<string, unknown>>`
        SELECT ${sql.ref(key)} AS key, ${sql.join(columns.map((c) => sql.ref(c)))}
        FROM ${sql.table(table)} FOR UPDATE`.execute(trx);
      const tally = columns.map((column) => ({ column: `${table}.${column}`, resealed: 0, current: 0 }));
      for (const row of rows) {
        const updates: Record<string, Buffer> = {};
        columns.forEach((column, index) => {
          const sealed = row[column] as Buffer;
          const count = tally[index] as RotationCount;
          if (box.isCurrent(sealed)) {
            count.current++;
            return;
          }
          let plaintext: string;
          try {
            plaintext = box.open(sealed);
          } catch (error) {
            if (!(error instanceof SecretBoxError)) throw error;
            throw new RotationError(
              `rotate-secrets: a value of ${table}.${column} (${key} ${String(row.key)}) opens with neither ` +
                "SLIPWAY_SECRET_KEY nor SLIPWAY_SECRET_KEY_PREVIOUS; nothing was changed",
            );
          }
          updates[column] = box.seal(plaintext);
          count.resealed++;
        });
        if (Object.keys(updates).length === 0) continue;
        await sql`UPDATE ${sql.table(table)}
                  SET ${sql.join(Object.entries(updates).map(([column, value]) => sql`${sql.ref(column)} = ${value}`))}
                  WHERE ${sql.ref(key)} = ${row.key}`.execute(trx);
      }
      counts.push(...tally);
    }
    return counts;
  });
}
