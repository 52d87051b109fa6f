// Invitations to an organisation by link: a random token shown once (only its SHA-256 is stored),
// valid for a week, single use. Accepting creates the account and its membership in one transaction.
import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import type { Db } from "../db/database.js";
import type { Role } from "../db/schema.js";
import { conflict, forbidden, notFound } from "../errors.js";
import { audit } from "../audit/audit-log.js";
import { includes } from "./access.js";
import { describeActor, insertUser, normaliseEmail, type SignedIn } from "./accounts.js";
import { actorOf, type Actor } from "./bootstrap-auth.js";

export const INVITATION_TTL_SECONDS = 7 * 24 * 60 * 60;

const sha256 = (value: string) => createHash("sha256").update(value).digest();

export async function createInvitation(
  db: Db,
  actor: Actor,
  input: { role: Role; email?: string },
): Promise<{ token: string; expiresAt: Date }> {
  if (input.role === "owner" && !includes(actor.role, "owner")) throw forbidden("only an owner can invite owners");
  const token = randomBytes(32).toString("base64url");
  return db.transaction().execute(async (tx) => {
    const row = await tx
      .insertInto("invitations")
      .values({
        org_id: actor.orgId,
        role: input.role,
        email: input.email === undefined ? null : normaliseEmail(input.email),
        token_hash: sha256(token),
        created_by: actor.userId,
        expires_at: sql<Date>`now() + make_interval(secs => ${INVITATION_TTL_SECONDS})`,
      })
      .returning(["id", "expires_at"])
      .executeTakeFirstOrThrow();
    await audit(tx, actor, "invitation.create", `invitation:${row.id}`, {
      role: input.role,
      email: input.email ?? null,
    });
    return { token, expiresAt: row.expires_at };
  });
}

/** Creates the invited account and its membership; the invitation is then spent. */
export async function acceptInvitation(
  db: Db,
  token: string,
  input: { email: string; name: string; password: string },
): Promise<SignedIn> {
  const { userId, orgId, role } = await db.transaction().execute(async (tx) => {
    const invitation = await tx
      .selectFrom("invitations")
      .select(["id", "org_id", "role", "email"])
      .where("token_hash", "=", sha256(token))
      .where("accepted_at", "is", null)
      .where("expires_at", ">", sql<Date>`now()`)
      .forUpdate()
      .executeTakeFirst();
    if (!invitation) throw notFound("invitation (it may have expired or been used)");
    if (invitation.email !== null && invitation.email !== normaliseEmail(input.email)) {
      throw forbidden("this invitation is for another email address");
    }
    const id = await insertUser(tx, input);
    await tx
      .insertInto("memberships")
      .values({ user_id: id, org_id: invitation.org_id, role: invitation.role })
      .execute();
    const spent = await tx
      .updateTable("invitations")
      .set({ accepted_at: sql<Date>`now()`, accepted_by: id })
      .where("id", "=", invitation.id)
      .where("accepted_at", "is", null)
      .executeTakeFirst();
    if (spent.numUpdatedRows === 0n) throw conflict("this invitation was just used");
    await audit(
      tx,
      actorOf(id, invitation.org_id, invitation.role),
      "invitation.accept",
      `invitation:${invitation.id}`,
    );
    return { userId: id, orgId: invitation.org_id, role: invitation.role };
  });
  return describeActor(db, actorOf(userId, orgId, role));
}

/** What an open invitation offers, for the page that accepts it; an unknown, used or expired one is not found. */
export async function describeInvitation(
  db: Db,
  token: string,
): Promise<{ org: { id: string; name: string }; role: Role; email: string | null; expiresAt: Date }> {
  const row = await db
    .selectFrom("invitations as i")
    .innerJoin("organizations as o", "o.id", "i.org_id")
    .select(["o.id", "o.name", "i.role", "i.email", "i.expires_at"])
    .where("i.token_hash", "=", sha256(token))
    .where("i.accepted_at", "is", null)
    .where("i.expires_at", ">", sql<Date>`now()`)
    .executeTakeFirst();
  if (!row) throw notFound("invitation (it may have expired or been used)");
  return { org: { id: row.id, name: row.name }, role: row.role, email: row.email, expiresAt: row.expires_at };
}
