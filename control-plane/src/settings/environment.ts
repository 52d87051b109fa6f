// A service's effective environment: its project's shared variables, overridden by its own of the
// same name. Values stay sealed until the moment a replica's spec is made (deploy-work.ts): the SQL
// hands them over as base64 of the sealed bytes, and only openEnvironment() turns them into text.
import { sql, type RawBuilder } from "kysely";
import type { Executor } from "../db/database.js";
import type { SecretBox } from "../crypto/secret-box.js";

/**
 * A json expression over a row `service` of services: name → base64 of the sealed value, the
 * service's own variable winning over the project's (null when there are none).
 */
export function sealedEnvironment(service: RawBuilder<unknown>): RawBuilder<Record<string, string> | null> {
  return sql<Record<string, string> | null>`(
    SELECT json_object_agg(v.name, translate(encode(v.value_enc, 'base64'), E'\\n', ''))
    FROM (SELECT DISTINCT ON (name) name, value_enc FROM variables
          WHERE project_id = ${service}.project_id AND (service_id = ${service}.id OR service_id IS NULL)
          ORDER BY name, service_id NULLS LAST) v)`;
}

/** Opens every sealed value; throws the box's error (which names no value) when one does not open. */
export function openEnvironment(box: SecretBox, sealed: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(sealed).map(([name, value]) => [name, box.open(Buffer.from(value, "base64"))]),
  );
}

/** The variables a replica of the service gets (PORT, set by the deploy, comes on top). */
export async function resolveServiceEnvironment(
  db: Executor,
  box: SecretBox,
  serviceId: string,
): Promise<Record<string, string>> {
  const { rows } = await sql<{ variables: Record<string, string> | null }>`
    SELECT ${sealedEnvironment(sql`s`)} AS variables FROM services s WHERE s.id = ${serviceId}`.execute(db);
  return openEnvironment(box, rows[0]?.variables ?? {});
}
