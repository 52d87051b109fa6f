// People for API tests: a user with a role in an organisation, and a real session of theirs.
import { randomBytes } from "node:crypto";
import type { Db } from "@slipway/control-plane";
import type { Role } from "../control-plane/src/db/schema.js";
import { createSession, SESSION_COOKIE } from "../control-plane/src/auth/sessions.js";
import { hashPassword } from "../control-plane/src/auth/passwords.js";

export interface TestMember {
  userId: string;
  orgId: string;
  email: string;
  password: string;
}

/** A user with a password and a membership; the organisation is created when orgId is not given. */
export async function createMember(
  db: Db,
  role: Role,
  options: { orgId?: string; email?: string; password?: string; disabled?: boolean } = {},
): Promise<TestMember> {
  const orgId =
    options.orgId ??
    (
      await db
        .insertInto("organizations")
        .values({ name: `org-${randomBytes(4).toString("hex")}` })
        .returning("id")
        .executeTakeFirstOrThrow()
    ).id;
  const email = options.email ?? `${role}-${randomBytes(4).toString("hex")}@example.test`;
  const password = options.password ?? `pw-${randomBytes(12).toString("hex")}`;
  const { id } = await db
    .insertInto("users")
    .values({
      email,
      name: `${role} person`,
      password_hash: await hashPassword(password),
      disabled: options.disabled ?? false,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  await db.insertInto("memberships").values({ user_id: id, org_id: orgId, role }).execute();
  return { userId: id, orgId, email, password };
}

/** Headers of a fresh session of this member: the cookie and its CSRF token. */
export async function sessionHeaders(
  db: Db,
  member: { userId: string; orgId: string },
): Promise<Record<string, string>> {
  const { cookie, csrfToken } = await createSession(db, member.userId, member.orgId);
  return { cookie: `${SESSION_COOKIE}=${cookie}`, "x-csrf-token": csrfToken };
}
