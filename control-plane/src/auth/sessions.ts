// Browser sessions: an httpOnly cookie whose sha256 is stored, and a CSRF token the browser must
// echo in X-CSRF-Token on every state-changing request made with the cookie.
import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import type { Db } from "../db/database.js";
import type { Role } from "../db/schema.js";

export const SESSION_COOKIE = "slipway_session";
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

const sha256 = (value: string) => createHash("sha256").update(value).digest();

export interface Session {
  userId: string;
  orgId: string;
  /** The user's current role in the session's organisation. */
  role: Role;
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

/** The live session of this cookie, while its user is enabled and still a member of its organisation. */
export async function findSession(db: Db, cookie: string): Promise<Session | undefined> {
  const row = await db
    .selectFrom("sessions as s")
    .innerJoin("users as u", "u.id", "s.user_id")
    .innerJoin("memberships as m", (join) =>
      join.onRef("m.user_id", "=", "s.user_id").onRef("m.org_id", "=", "s.org_id"),
    )
    .select(["s.user_id", "s.org_id", "s.csrf_token", "m.role"])
    .where("s.id_hash", "=", sha256(cookie))
    .where("s.expires_at", ">", sql<Date>`now()`)
    .where("u.disabled", "=", false)
    .executeTakeFirst();
  return row ? { userId: row.user_id, orgId: row.org_id, role: row.role, csrfToken: row.csrf_token } : undefined;
}

export async function deleteSession(db: Db, cookie: string): Promise<void> {
  await db.deleteFrom("sessions").where("id_hash", "=", sha256(cookie)).execute();
}

/** Signs a user out everywhere: every session of theirs, in every organisation; nothing else. */
export async function deleteUserSessions(db: Db, userId: string): Promise<number> {
  const result = await db.deleteFrom("sessions").where("user_id", "=", userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}
