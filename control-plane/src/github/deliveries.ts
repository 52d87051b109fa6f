// Webhook deliveries: one row per X-GitHub-Delivery saying what it caused and why.
import { sql, type Transaction } from "kysely";
import type { Db } from "../db/database.js";
import type { Database } from "../db/schema.js";

export interface DeliveryRecord {
  deliveryId: string;
  event: string;
  action?: string | null;
  repositoryId?: number | null;
  ref?: string | null;
  headSha?: string | null;
  installationId?: number | null;
  outcome: "queued" | "ignored" | "applied";
  reason: string;
  buildsCreated?: number;
}

/** Records a delivery; returns false (and writes nothing) when this delivery id was seen before. */
export async function recordDelivery(trx: Transaction<Database> | Db, record: DeliveryRecord): Promise<boolean> {
  const inserted = await trx
    .insertInto("webhook_deliveries")
    .values({
      delivery_id: record.deliveryId,
      event: record.event,
      action: record.action ?? null,
      repository_id: record.repositoryId ?? null,
      installation_id: record.installationId ?? null,
      ref: record.ref ?? null,
      head_sha: record.headSha ?? null,
      outcome: record.outcome,
      reason: record.reason,
      builds_created: record.buildsCreated ?? 0,
    })
    .onConflict((oc) => oc.column("delivery_id").doNothing())
    .returning("delivery_id")
    .executeTakeFirst();
  return inserted !== undefined;
}

/** Unsigned or mis-signed deliveries leave nothing but this counter. */
export async function countRejection(db: Db, reason: string): Promise<void> {
  await sql`
    INSERT INTO webhook_rejections (reason, count, last_at) VALUES (${reason}, 1, now())
    ON CONFLICT (reason) DO UPDATE SET count = webhook_rejections.count + 1, last_at = now()`.execute(db);
}
