// Per-user API tokens for scripts: `slp_` + 32 random bytes, shown once; only the SHA-256 is stored,
// with a short prefix that lists show so people can tell their tokens apart. A token acts as its user
// in the organisation it was created in, with that user's current role there.
import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import type { Db } from "../db/database.js";
import { notFound } from "../errors.js";
import { audit } from "../audit/audit-log.js";
import type { Actor } from "./bootstrap-auth.js";

export const API_TOKEN_PREFIX = "slp_";
const SHOWN_PREFIX_LENGTH = API_TOKEN_PREFIX.length + 6;

const sha256 = (value: string) => createHash("sha256").update(value).digest();

export interface ApiTokenView {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const view = (row: {
  id: string;
  name: string;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}): ApiTokenView => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  createdAt: row.created_at.toISOString(),
  lastUsedAt: row.last_used_at?.toISOString() ?? null,
  revokedAt: row.revoked_at?.toISOString() ?? null,
});

export async function createApiToken(
  db: Db,
  actor: Actor,
  name: string,
): Promise<{ token: string; view: ApiTokenView }> {
  const token = API_TOKEN_PREFIX + randomBytes(32).toString("base64url");
  return db.transaction().execute(async (tx) => {
    const row = await tx
      .insertInto("api_tokens")
      .values({
        user_id: actor.userId,
        org_id: actor.orgId,
        name,
        token_hash: sha256(token),
        prefix: token.slice(0, SHOWN_PREFIX_LENGTH),
      })
      .returning(["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"])
      .executeTakeFirstOrThrow();
    await audit(tx, actor, "token.create", `token:${row.id}`, { name });
    return { token, view: view(row) };
  });
}

/** The caller's own tokens in this organisation, newest first. */
export async function listApiTokens(db: Db, actor: Actor): Promise<ApiTokenView[]> {
  const rows = await db
    .selectFrom("api_tokens")
    .select(["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"])
    .where("user_id", "=", actor.userId)
    .where("org_id", "=", actor.orgId)
    .orderBy("created_at", "desc")
    .execute();
  return rows.map(view);
}

/** Revokes one of the caller's own tokens; someone else's token is not found. */
export async function revokeApiToken(db: Db, actor: Actor, id: string): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const result = await tx
      .updateTable("api_tokens")
      .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
      .where("id", "=", id)
      .where("user_id", "=", actor.userId)
      .where("org_id", "=", actor.orgId)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw notFound(`API token ${id}`);
    await audit(tx, actor, "token.revoke", `token:${id}`);
  });
}

/** The actor a presented token stands for, or undefined (unknown, revoked, disabled user, no longer a member). */
export async function findApiToken(db: Db, token: string): Promise<Actor | undefined> {
  const row = await db
    .updateTable("api_tokens as t")
    // At most one write a minute per token: last use is for people, not for accounting.
    .set({
      last_used_at: sql<Date>`CASE WHEN t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute'
        THEN now() ELSE t.last_used_at END`,
    })
    .from("users as u")
    .innerJoin("memberships as m", "m.user_id", "u.id")
    .whereRef("u.id", "=", "t.user_id")
    .whereRef("m.org_id", "=", "t.org_id")
    .where("t.token_hash", "=", sha256(token))
    .where("t.revoked_at", "is", null)
    .where("u.disabled", "=", false)
    .returning(["t.user_id", "t.org_id", "m.role"])
    .executeTakeFirst();
  return row ? { userId: row.user_id, orgId: row.org_id, role: row.role, label: `user:${row.user_id}` } : undefined;
}
