import type { Transaction } from "kysely";
import type { Database } from "../db/schema.js";
import type { Actor } from "../auth/bootstrap-auth.js";

/** Records a state-changing action with its actor; call inside the action's own transaction. */
export async function audit(
  trx: Transaction<Database>,
  actor: Actor,
  action: string,
  target: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  await trx
    .insertInto("audit_log")
    .values({ org_id: actor.orgId, actor: actor.label, action, target, details: JSON.stringify(details) })
    .execute();
}
