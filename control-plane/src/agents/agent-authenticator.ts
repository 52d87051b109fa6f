// Decides whether the agent named by a verified client certificate may call. The TLS layer has
// already checked the certificate against the control plane's CA; what is left is whether the agent
// still exists unrevoked. That answer is remembered briefly, and last_seen_at is written at most
// every LAST_SEEN_EVERY_MS, so a busy agent costs no database write per call.
// Revoking, draining or undraining an agent NOTIFYs every control plane, which forgets it at once:
// a revoked agent's very next call is refused.
import { sql } from "kysely";
import type { Db } from "../db/database.js";
import { UUID_PATTERN } from "../patterns.js";
import type { AuthenticatedAgent } from "./enrolment.js";

const REMEMBER_MS = 60_000;
const LAST_SEEN_EVERY_MS = 15_000;
const UUID = new RegExp(UUID_PATTERN);

interface Remembered {
  agent: AuthenticatedAgent;
  checkedAt: number;
  seenAt: number;
}

export class AgentAuthenticator {
  private readonly remembered = new Map<string, Remembered>();

  constructor(private readonly db: Db) {}

  async authenticate(agentId: string): Promise<AuthenticatedAgent | undefined> {
    if (!UUID.test(agentId)) return undefined;
    const now = Date.now();
    const known = this.remembered.get(agentId);
    if (known && now - known.checkedAt < REMEMBER_MS) {
      if (now - known.seenAt >= LAST_SEEN_EVERY_MS) {
        known.seenAt = now;
        void this.db
          .updateTable("agents")
          .set({ last_seen_at: sql<Date>`now()` })
          .where("id", "=", agentId)
          .execute()
          .catch(() => {});
      }
      return known.agent;
    }
    const row = await this.db
      .updateTable("agents")
      .set({ last_seen_at: sql<Date>`now()` })
      .where("id", "=", agentId)
      .where("enrolled_at", "is not", null)
      .where("revoked_at", "is", null)
      .returning(["id", "org_id", "capabilities", "labels", "slots", "drained_at"])
      .executeTakeFirst();
    if (!row) {
      this.remembered.delete(agentId);
      return undefined;
    }
    const agent = {
      id: row.id,
      orgId: row.org_id,
      capabilities: row.capabilities,
      labels: row.labels,
      slots: row.slots,
      drained: row.drained_at !== null,
    };
    this.remembered.set(agentId, { agent, checkedAt: now, seenAt: now });
    return agent;
  }

  /** Forgets an agent (it was revoked, drained or undrained): its next call is checked afresh. */
  forget(agentId: string): void {
    this.remembered.delete(agentId);
  }

  /** After a lost LISTEN connection, changes may have been missed: check everyone afresh. */
  forgetAll(): void {
    this.remembered.clear();
  }
}
