// Local accounts: sign-in by email and password, the first owner, members of an organisation and
// their roles. Domain errors only; the routes map them to status codes.
import { sql, type Transaction } from "kysely";
import type { Db } from "../db/database.js";
import { BOOTSTRAP_ADMIN_ID, DEFAULT_ORG_ID, type Database, type Role } from "../db/schema.js";
import { DomainError, conflict, forbidden, isUniqueViolation, notFound } from "../errors.js";
import { audit } from "../audit/audit-log.js";
import { includes } from "./access.js";
import { actorOf, type Actor } from "./bootstrap-auth.js";
import { hashPassword, verifyPassword } from "./passwords.js";

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

export interface SignedIn {
  actor: Actor;
  user: { id: string; email: string | null; name: string };
  org: { id: string; name: string };
}

/** The user, organisation and role an actor stands for (what GET /api/session answers). */
export async function describeActor(db: Db, actor: Actor): Promise<SignedIn> {
  const row = await db
    .selectFrom("users as u")
    .innerJoin("organizations as o", (join) => join.on("o.id", "=", actor.orgId))
    .select(["u.id", "u.email", "u.name", "o.id as org_id", "o.name as org_name"])
    .where("u.id", "=", actor.userId)
    .executeTakeFirstOrThrow();
  return {
    actor,
    user: { id: row.id, email: row.email, name: row.name },
    org: { id: row.org_id, name: row.org_name },
  };
}

/** Checks an email and password; the organisation is the user's first membership. */
export async function signIn(db: Db, email: string, password: string): Promise<SignedIn> {
  const user = await db
    .selectFrom("users")
    .select(["id", "password_hash", "disabled"])
    .where("email", "=", normaliseEmail(email))
    .executeTakeFirst();
  const matches = await verifyPassword(user?.password_hash ?? null, password);
  if (!user || !matches) throw new DomainError("unauthenticated", "wrong email or password");
  if (user.disabled) throw forbidden("this account is disabled");
  const membership = await db
    .selectFrom("memberships")
    .select(["org_id", "role"])
    .where("user_id", "=", user.id)
    .orderBy("created_at")
    .executeTakeFirst();
  if (!membership) throw forbidden("this account is not a member of any organisation");
  return describeActor(db, actorOf(user.id, membership.org_id, membership.role));
}

type Tx = Transaction<Database>;

/** Inserts a user with a password; a taken email is a conflict. */
export async function insertUser(
  tx: Db | Tx,
  input: { email: string; name: string; password: string },
): Promise<string> {
  const passwordHash = await hashPassword(input.password);
  try {
    const row = await tx
      .insertInto("users")
      .values({ email: normaliseEmail(input.email), name: input.name.trim(), password_hash: passwordHash })
      .returning("id")
      .executeTakeFirstOrThrow();
    return row.id;
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict("a user with this email already exists");
    throw error;
  }
}

/** Whether anyone other than the bootstrap admin exists: the first-run set-up is open until then. */
export async function needsOwner(db: Db | Tx): Promise<boolean> {
  const row = await db
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("id", "<>", BOOTSTRAP_ADMIN_ID)
    .executeTakeFirstOrThrow();
  return Number(row.n) === 0;
}

/**
 * Creates the first owner, of the default organisation (renamed to orgName when given), while no user
 * other than the bootstrap admin exists; afterwards a conflict. Serialised by an advisory lock, so two
 * concurrent set-ups cannot both succeed.
 */
export async function createFirstOwner(
  db: Db,
  input: { email: string; name: string; password: string; orgName?: string },
): Promise<SignedIn> {
  const userId = await db.transaction().execute(async (tx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('slipway:first-owner'))`.execute(tx);
    if (!(await needsOwner(tx))) throw conflict("an owner already exists; ask them for an invitation");
    const id = await insertUser(tx, input);
    await tx.insertInto("memberships").values({ user_id: id, org_id: DEFAULT_ORG_ID, role: "owner" }).execute();
    await audit(tx, actorOf(id, DEFAULT_ORG_ID, "owner"), "org.first-owner", `user:${id}`);
    if (input.orgName) {
      await tx
        .updateTable("organizations")
        .set({ name: input.orgName.trim() })
        .where("id", "=", DEFAULT_ORG_ID)
        .execute();
    }
    return id;
  });
  return describeActor(db, actorOf(userId, DEFAULT_ORG_ID, "owner"));
}

export interface MemberView {
  userId: string;
  email: string | null;
  name: string;
  role: Role;
  disabled: boolean;
  joinedAt: string;
}

/** The organisation's people (the bootstrap admin is automation, not a member to manage). */
export async function listMembers(db: Db, actor: Actor): Promise<MemberView[]> {
  const rows = await db
    .selectFrom("memberships as m")
    .innerJoin("users as u", "u.id", "m.user_id")
    .select(["u.id", "u.email", "u.name", "u.disabled", "m.role", "m.created_at"])
    .where("m.org_id", "=", actor.orgId)
    .where("u.id", "<>", BOOTSTRAP_ADMIN_ID)
    .orderBy("m.created_at")
    .execute();
  return rows.map((r) => ({
    userId: r.id,
    email: r.email,
    name: r.name,
    role: r.role,
    disabled: r.disabled,
    joinedAt: r.created_at.toISOString(),
  }));
}

/**
 * Changes a member's role (newRole) or removes them (newRole null). An admin manages members below
 * owner only; only an owner makes or unmakes owners; the last owner can be neither demoted nor removed.
 */
export async function changeMember(db: Db, actor: Actor, userId: string, newRole: Role | null): Promise<void> {
  await db.transaction().execute(async (tx) => {
    // Owners of the organisation, locked: concurrent demotions cannot leave it without one.
    const owners = await tx
      .selectFrom("memberships")
      .select("user_id")
      .where("org_id", "=", actor.orgId)
      .where("role", "=", "owner")
      .where("user_id", "<>", BOOTSTRAP_ADMIN_ID)
      .forUpdate()
      .execute();
    const member = await tx
      .selectFrom("memberships")
      .select("role")
      .where("org_id", "=", actor.orgId)
      .where("user_id", "=", userId)
      .where("user_id", "<>", BOOTSTRAP_ADMIN_ID)
      .forUpdate()
      .executeTakeFirst();
    if (!member) throw notFound(`member ${userId}`);
    const touchesOwner = member.role === "owner" || newRole === "owner";
    if (touchesOwner && !includes(actor.role, "owner")) throw forbidden("only an owner can make or change owners");
    if (member.role === "owner" && newRole !== "owner" && owners.length <= 1) {
      throw conflict("the organisation's last owner cannot be demoted or removed; make someone else owner first");
    }
    if (newRole === null) {
      await tx.deleteFrom("memberships").where("org_id", "=", actor.orgId).where("user_id", "=", userId).execute();
      // What let them in to this organisation goes with the membership.
      await tx.deleteFrom("sessions").where("org_id", "=", actor.orgId).where("user_id", "=", userId).execute();
      await tx
        .updateTable("api_tokens")
        .set({ revoked_at: sql<Date>`now()` })
        .where("org_id", "=", actor.orgId)
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .execute();
    } else {
      await tx
        .updateTable("memberships")
        .set({ role: newRole })
        .where("org_id", "=", actor.orgId)
        .where("user_id", "=", userId)
        .execute();
    }
    await audit(tx, actor, newRole === null ? "member.remove" : "member.role", `user:${userId}`, { role: newRole });
  });
}

export async function renameOrg(db: Db, actor: Actor, name: string): Promise<{ id: string; name: string }> {
  return db.transaction().execute(async (tx) => {
    const row = await tx
      .updateTable("organizations")
      .set({ name: name.trim() })
      .where("id", "=", actor.orgId)
      .returning(["id", "name"])
      .executeTakeFirstOrThrow();
    await audit(tx, actor, "org.update", `org:${row.id}`, { name: row.name });
    return row;
  });
}
