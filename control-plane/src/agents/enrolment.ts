// Agents are created by an admin, who receives a one-time join token; the agent exchanges it once
// for a long-lived credential. Only sha256 digests of either secret are stored.
import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import type { Db } from "../db/database.js";
import type { Transaction } from "kysely";
import type { Agent, Database } from "../db/schema.js";
import type { Actor } from "../auth/bootstrap-auth.js";
import { audit } from "../audit/audit-log.js";
import { conflict, isUniqueViolation } from "../http/errors.js";
import { sanitizeText } from "../http/patterns.js";

export const JOIN_TOKEN_TTL_SECONDS = 24 * 60 * 60;

const sha256 = (value: string) => createHash("sha256").update(value).digest();
const secret = (prefix: string) => `${prefix}_${randomBytes(32).toString("base64url")}`;

export interface NewAgentInput {
  name: string;
  capabilities: ("build" | "deploy" | "remediate")[];
  labels?: Record<string, string> | undefined;
  slots?: number | undefined;
}

export async function createAgent(
  db: Db,
  actor: Actor,
  input: NewAgentInput,
): Promise<{ agent: Agent; joinToken: string }> {
  const joinToken = secret("sjt");
  try {
    const agent = await db.transaction().execute(async (trx) => {
      const agent = await trx
        .insertInto("agents")
        .values({
          org_id: actor.orgId,
          name: input.name,
          capabilities: [...new Set(input.capabilities)],
          labels: JSON.stringify(input.labels ?? {}),
          slots: input.slots ?? 1,
          join_token_hash: sha256(joinToken),
          join_token_expires_at: sql<Date>`now() + make_interval(secs => ${JOIN_TOKEN_TTL_SECONDS})`,
          credential_hash: null,
          hostname: null,
          enrolled_at: null,
          revoked_at: null,
          last_seen_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(trx, actor, "agent.create", `agent:${agent.id}`, {
        name: input.name,
        capabilities: input.capabilities,
      });
      return agent;
    });
    return { agent, joinToken };
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`an agent named ${input.name} already exists`);
    throw error;
  }
}

export class EnrolmentError extends Error {
  override name = "EnrolmentError";
}

/** Spends a join token: returns the agent's id and its new credential, or throws EnrolmentError. */
export async function enrolAgent(
  db: Db,
  joinToken: string,
  hostname: string,
): Promise<{ agentId: string; credential: string }> {
  const credential = secret("sac");
  const agent = await db
    .updateTable("agents")
    .set({
      join_token_hash: null,
      join_token_expires_at: null,
      credential_hash: sha256(credential),
      hostname: sanitizeText(hostname, 255),
      enrolled_at: sql<Date>`now()`,
    })
    .where("join_token_hash", "=", sha256(joinToken))
    .where("join_token_expires_at", ">", sql<Date>`now()`)
    .where("revoked_at", "is", null)
    .returning("id")
    .executeTakeFirst();
  if (!agent) throw new EnrolmentError("join token is unknown, expired or already used");
  return { agentId: agent.id, credential };
}

export interface AuthenticatedAgent {
  id: string;
  orgId: string;
  capabilities: string[];
  slots: number;
  /** A drained agent finishes what it runs and is given nothing new. */
  drained: boolean;
}

export async function listAgents(db: Db, orgId: string): Promise<Agent[]> {
  return db.selectFrom("agents").selectAll().where("org_id", "=", orgId).orderBy("created_at").execute();
}

/** Drains (or undrains) an agent of the caller's organisation; returns it, or undefined if unknown. */
export async function setDrained(db: Db, actor: Actor, agentId: string, drained: boolean): Promise<Agent | undefined> {
  return db.transaction().execute(async (trx) => {
    const agent = await trx
      .updateTable("agents")
      .set({ drained_at: drained ? sql<Date>`coalesce(drained_at, now())` : null })
      .where("id", "=", agentId)
      .where("org_id", "=", actor.orgId)
      .returningAll()
      .executeTakeFirst();
    if (agent) {
      await audit(trx, actor, drained ? "agent.drain" : "agent.undrain", `agent:${agentId}`);
      await notifyAgentChanged(trx, agentId);
    }
    return agent;
  });
}

/** Revokes an agent: its next call is refused; the reaper re-queues what it held once leases expire. */
export async function revokeAgent(db: Db, actor: Actor, agentId: string): Promise<Agent | undefined> {
  return db.transaction().execute(async (trx) => {
    const agent = await trx
      .updateTable("agents")
      .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())`, join_token_hash: null })
      .where("id", "=", agentId)
      .where("org_id", "=", actor.orgId)
      .returningAll()
      .executeTakeFirst();
    if (agent) {
      await audit(trx, actor, "agent.revoke", `agent:${agentId}`);
      await notifyAgentChanged(trx, agentId);
    }
    return agent;
  });
}

/** Every control plane forgets what it remembered of the agent (agent-authenticator.ts). */
async function notifyAgentChanged(trx: Transaction<Database>, agentId: string): Promise<void> {
  await sql`SELECT pg_notify('slipway_agent', ${agentId})`.execute(trx);
}
