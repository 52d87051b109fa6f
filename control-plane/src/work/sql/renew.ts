// Renew: a heartbeat extends every lease its agent still holds, and learns in the same statement
// which of those items someone asked to stop.
import { sql } from "kysely";
import { executePrepared } from "../../db/database.js";
import type { WorkTable } from "../kind.js";
import { cancelRequestedOf, statusArray, tableOf, type Executor } from "./fragments.js";

export interface RenewedLease {
  id: string;
  lease_token: string;
  lease_expires_at: Date;
  cancel_requested: boolean;
}

export async function renewLeases(
  db: Executor,
  work: WorkTable,
  agentId: string,
  held: readonly { id: string; leaseToken: string }[],
  leaseSeconds: number,
): Promise<RenewedLease[]> {
  if (held.length === 0) return [];
  return executePrepared(
    db,
    sql<RenewedLease>`
    UPDATE ${tableOf(work)} AS w
    SET lease_expires_at = now() + make_interval(secs => ${leaseSeconds}), lease_extended = false
    FROM unnest(${held.map((h) => h.id)}::uuid[], ${held.map((h) => h.leaseToken)}::uuid[]) AS h(id, lease_token)
    WHERE w.id = h.id AND w.lease_token = h.lease_token AND w.claimed_by = ${agentId}
      AND w.status = ANY(${statusArray(work, work.leased)})
      ${
        // An agent that keeps heartbeating but never stops cancelled work loses it after two lease
        // periods: the reaper then ends it as cancelled.
        work.cancellable
          ? sql`AND (w.cancel_requested_at IS NULL OR w.cancel_requested_at > now() - make_interval(secs => ${leaseSeconds * 2}))`
          : sql``
      }
    RETURNING w.id, w.lease_token, w.lease_expires_at, ${cancelRequestedOf(work, "w")} AS cancel_requested`,
  );
}
