// Browser sessions: an httpOnly cookie whose sha256 is stored, and a CSRF token the browser must
// echo in X-CSRF-Token on every state-changing request made with the cookie.
import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import type { Db } from "../db/database.js";

export const SESSION_COOKIE = "slipway_session";
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

const sha256 = (value: string) => createHash("sha256").update(value).digest();

export interface Session {
  userId: string;
  orgId: string;
  csrfToken: string;
}

export async function createSession(
  db: Db,
  userId: string,
  orgId: string,
): Promise<{ cookie: string; csrfToken: string }> {
  const cookie = randomBytes(32).toString("base64url");
  const csrfToken = randomBytes(24).toString("base64url");
  await db
    .insertInto("sessions")
    .values({
      id_hash: sha256(cookie),
      user_id: userId,
      org_id: orgId,
      csrf_token: csrfToken,
      expires_at: sql<Date>`now() + make_interval(secs => ${SESSION_TTL_SECONDS})`,
    })
    .execute();
  return { cookie, csrfToken };
}

export async function findSession(db: Db, cookie: string): Promise<Session | undefined> {
  const row = await db
    .selectFrom("sessions")
    .select(["user_id", "org_id", "csrf_token"])
    .where("id_hash", "=", sha256(cookie))
    .where("expires_at", ">", sql<Date>`now()`)
    .executeTakeFirst();
  return row ? { userId: row.user_id, orgId: row.org_id, csrfToken: row.csrf_token } : undefined;
}

export async function deleteSession(db: Db, cookie: string): Promise<void> {
  await db.deleteFrom("sessions").where("id_hash", "=", sha256(cookie)).execute();
}
