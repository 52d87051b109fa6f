// Agents are created by an admin, who receives a one-time join token. The agent spends it with a
// certificate request for a key it generated; the control plane's CA signs it, and from then on
// the agent calls over mutual TLS. Only a sha256 digest of the join token is stored.
//
// A join token reads `sjt_<secret>.<pin>`: the pin is the digest of the CA's certificate, so an
// agent can tell the real control plane from anyone else on the way before it trusts anything.
import { createHash, randomBytes } from "node:crypto";
import { sql, type Transaction } from "kysely";
import type { Db } from "../db/database.js";
import type { Agent, Database } from "../db/schema.js";
import type { Actor } from "../auth/bootstrap-auth.js";
import { audit } from "../audit/audit-log.js";
import { notifyWork } from "../work/sql/notify.js";
import { conflict, DomainError, isUniqueViolation, unavailable } from "../errors.js";
import { sanitizeText } from "../patterns.js";
import { caPin, readCertificateRequest, type CertificateAuthority } from "../pki/certificate-authority.js";

export const JOIN_TOKEN_TTL_SECONDS = 24 * 60 * 60;

const sha256 = (value: string) => createHash("sha256").update(value).digest();

async function newJoinToken(db: Db): Promise<string> {
  const ca = await db.selectFrom("certificate_authority").select("certificate_pem").executeTakeFirst();
  if (!ca) throw unavailable("the control plane's certificate authority is not set up yet; retry shortly");
  return `sjt_${randomBytes(32).toString("base64url")}.${caPin(ca.certificate_pem)}`;
}

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
  const joinToken = await newJoinToken(db);
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
          enrolled_key_sha256: null,
          certificate_serial: null,
          certificate_expires_at: null,
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

/** A join token or certificate that does not (or no longer) name an agent that may enrol. */
export class EnrolmentError extends DomainError {
  override name = "EnrolmentError";
  constructor(message: string) {
    super("unauthenticated", message);
  }
}

export interface EnrolmentRequest {
  joinToken: string;
  csrPem: string;
  hostname: string;
  /** How long the agent's certificate is valid; the agent renews it after two thirds. */
  validitySeconds: number;
}

/**
 * Spends a join token on a certificate for the key in the request; returns the agent's id and its
 * certificate, or throws EnrolmentError (or CertificateRequestError for a malformed request).
 * Within the token's lifetime, the same key may enrol again (the first reply may have been lost);
 * any other key is refused, so a used token is worthless to whoever finds it.
 */
export async function enrolAgent(
  db: Db,
  ca: CertificateAuthority,
  request: EnrolmentRequest,
): Promise<{ agentId: string; certificatePem: string }> {
  const csr = await readCertificateRequest(request.csrPem);
  return db.transaction().execute(async (trx) => {
    const agent = await trx
      .selectFrom("agents")
      .select(["id", "enrolled_at", "enrolled_key_sha256"])
      .where("join_token_hash", "=", sha256(request.joinToken))
      .where("join_token_expires_at", ">", sql<Date>`now()`)
      .where("revoked_at", "is", null)
      .forUpdate()
      .executeTakeFirst();
    if (!agent) throw new EnrolmentError("join token is unknown, expired or revoked");
    if (agent.enrolled_at !== null && !agent.enrolled_key_sha256?.equals(csr.keySha256)) {
      throw new EnrolmentError("join token was already used by another key");
    }
    const issued = await ca.issueAgentCertificate(csr, agent.id, request.validitySeconds);
    await trx
      .updateTable("agents")
      .set({
        enrolled_key_sha256: csr.keySha256,
        hostname: sanitizeText(request.hostname, 255),
        enrolled_at: sql<Date>`coalesce(enrolled_at, now())`,
        certificate_serial: issued.serial,
        certificate_expires_at: issued.expiresAt,
      })
      .where("id", "=", agent.id)
      .execute();
    return { agentId: agent.id, certificatePem: issued.certificatePem };
  });
}

/** Certifies a new key for an enrolled agent (it proved itself with its current certificate). */
export async function renewAgentCertificate(
  db: Db,
  ca: CertificateAuthority,
  agentId: string,
  csrPem: string,
  validitySeconds: number,
): Promise<string> {
  const issued = await ca.issueAgentCertificate(await readCertificateRequest(csrPem), agentId, validitySeconds);
  const updated = await db
    .updateTable("agents")
    .set({ certificate_serial: issued.serial, certificate_expires_at: issued.expiresAt })
    .where("id", "=", agentId)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  if (updated.numUpdatedRows === 0n) throw new EnrolmentError("agent is unknown or revoked");
  return issued.certificatePem;
}

export interface AuthenticatedAgent {
  id: string;
  orgId: string;
  capabilities: string[];
  labels: Record<string, string>;
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

/**
 * Replaces an agent's labels. Its session is renewed with them (every control plane forgets the
 * agent), and agents look for work again: builds that waited for these labels may now fit.
 */
export async function relabelAgent(
  db: Db,
  actor: Actor,
  agentId: string,
  labels: Record<string, string>,
): Promise<Agent | undefined> {
  return db.transaction().execute(async (trx) => {
    const agent = await trx
      .updateTable("agents")
      .set({ labels: JSON.stringify(labels) })
      .where("id", "=", agentId)
      .where("org_id", "=", actor.orgId)
      .returningAll()
      .executeTakeFirst();
    if (agent) {
      await audit(trx, actor, "agent.relabel", `agent:${agentId}`, { labels });
      await notifyAgentChanged(trx, agentId);
      await notifyWork(trx, "build");
      await notifyWork(trx, "deploy");
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

/** Payload: the id of an agent that was revoked, drained, undrained or relabelled. */
export const AGENT_CHANNEL = "slipway_agent";

/**
 * Every control plane forgets what it remembered of the agent (agent-authenticator.ts) and ends its
 * session streams, so that the agent comes back as it now is (or, revoked, is refused).
 */
async function notifyAgentChanged(trx: Transaction<Database>, agentId: string): Promise<void> {
  await sql`SELECT pg_notify(${AGENT_CHANNEL}, ${agentId})`.execute(trx);
}
