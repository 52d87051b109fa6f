// One-time `state` values for the redirects to GitHub and back: bound to the session user who
// started the flow, short-lived, and spent on first use (a replayed callback finds nothing).
import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import type { Db } from "../db/database.js";
import type { Actor } from "../auth/bootstrap-auth.js";
import { invalid } from "../errors.js";

const TTL_SECONDS = 10 * 60;
const sha256 = (value: string) => createHash("sha256").update(value).digest();

export type StatePurpose = "manifest" | "install";

export async function createState(
  db: Db,
  purpose: StatePurpose,
  actor: Actor,
  data: Record<string, unknown> = {},
): Promise<string> {
  const state = randomBytes(24).toString("base64url");
  await db
    .insertInto("oauth_states")
    .values({
      state_hash: sha256(state),
      purpose,
      user_id: actor.userId,
      org_id: actor.orgId,
      data: JSON.stringify(data),
      expires_at: sql<Date>`now() + make_interval(secs => ${TTL_SECONDS})`,
    })
    .execute();
  return state;
}

/** Spends a state; throws 400 when it is unknown, expired, used, or not this user's. */
export async function consumeState(
  db: Db,
  purpose: StatePurpose,
  actor: Actor,
  state: string,
): Promise<Record<string, unknown>> {
  const row = await db
    .deleteFrom("oauth_states")
    .where("state_hash", "=", sha256(state))
    .where("purpose", "=", purpose)
    .where("user_id", "=", actor.userId)
    .where("expires_at", ">", sql<Date>`now()`)
    .returning("data")
    .executeTakeFirst();
  if (!row) throw invalid("this link has expired or was already used; start again from Slipway");
  return row.data;
}
