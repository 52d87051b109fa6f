// A service's place in the ingress: its generated label (given once), its custom domains, and its
// rollout settings (health check, drain period), as the services API reads and changes them.
import type { Transaction } from "kysely";
import type { Db } from "../db/database.js";
import type { Database } from "../db/schema.js";
import { conflict, invalid, isUniqueViolation } from "../errors.js";
import { alternativeLabel, ingressLabelFor, type IngressAddresses } from "./addresses.js";

/** A label no other service has: `<service>-<project>`, or that with a random suffix when taken. */
export async function freeIngressLabel(
  trx: Transaction<Database>,
  serviceName: string,
  projectName: string,
): Promise<string> {
  const wanted = ingressLabelFor(serviceName, projectName);
  const taken = await trx.selectFrom("services").select("id").where("ingress_label", "=", wanted).executeTakeFirst();
  return taken ? alternativeLabel(wanted) : wanted;
}

/**
 * Makes `hosts` the service's custom domains. A host another service has, or a name under the base
 * domain (Slipway gives those out), is refused and nothing changes.
 */
export async function replaceDomains(
  trx: Transaction<Database>,
  addresses: IngressAddresses,
  serviceId: string,
  hosts: readonly string[],
): Promise<void> {
  const wanted = [...new Set(hosts.map((host) => host.toLowerCase()))];
  const base = `.${addresses.options.baseDomain}`;
  const generated = wanted.find((host) => host.endsWith(base) || host === addresses.options.baseDomain);
  if (generated) throw invalid(`${generated} is under ${addresses.options.baseDomain}, whose names Slipway gives out`);
  await trx.deleteFrom("service_domains").where("service_id", "=", serviceId).execute();
  if (wanted.length === 0) return;
  const owners = await trx.selectFrom("service_domains").select("host").where("host", "in", wanted).executeTakeFirst();
  if (owners) throw conflict(`${owners.host} is already a domain of another service`);
  try {
    await trx
      .insertInto("service_domains")
      .values(wanted.map((host) => ({ host, service_id: serviceId })))
      .execute();
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`one of ${wanted.join(", ")} was just given to another service`);
    throw error;
  }
}

/** Each service's custom domains, sorted. */
export async function domainsOf(db: Db, serviceIds: readonly string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>(serviceIds.map((id) => [id, []]));
  if (serviceIds.length === 0) return result;
  const rows = await db
    .selectFrom("service_domains")
    .select(["service_id", "host"])
    .where("service_id", "in", serviceIds)
    .orderBy("host")
    .execute();
  for (const row of rows) result.get(row.service_id)?.push(row.host);
  return result;
}
