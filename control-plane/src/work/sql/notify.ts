// The notifications of the work core. They are hints: work is assigned by Claim alone and agents
// also poll, so a lost notification delays work but never loses it. Sent inside a transaction,
// PostgreSQL delivers them when (and only if) it commits.
import { sql } from "kysely";
import type { Executor } from "./fragments.js";

/** Payload: the name of a kind that has new pending work. */
export const WORK_CHANNEL = "slipway_work";
/** Payload: a CancelNotice as JSON. */
export const CANCEL_CHANNEL = "slipway_cancel";

export interface CancelNotice {
  kind: string;
  id: string;
  agentId: string | null;
}

/** Agents able to take `kind` should look for work. */
export async function notifyWork(db: Executor, kind: string): Promise<void> {
  await sql`SELECT pg_notify(${WORK_CHANNEL}, ${kind})`.execute(db);
}

/** The agent holding a work item should stop it now (its heartbeats say so too, until it does). */
export async function notifyCancel(db: Executor, notice: CancelNotice): Promise<void> {
  await sql`SELECT pg_notify(${CANCEL_CHANNEL}, ${JSON.stringify(notice)})`.execute(db);
}
