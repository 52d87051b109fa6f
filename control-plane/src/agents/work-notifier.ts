// New work wakes agents through Postgres LISTEN/NOTIFY, so every control-plane process learns of work
// inserted by any other. A notification is only a hint: work is assigned by Claim alone, and agents
// also poll, so a lost notification delays work but never loses it.
import { EventEmitter } from "node:events";
import { sql, type Transaction } from "kysely";
import pg from "pg";
import type { Db } from "../db/database.js";
import type { Database } from "../db/schema.js";

const CHANNEL = "slipway_work";
const CANCEL_CHANNEL = "slipway_cancel";
const LOG_CHANNEL = "slipway_log";
const AGENT_CHANNEL = "slipway_agent";

export interface CancelNotice {
  kind: WorkKindName;
  id: string;
  agentId: string | null;
}

export type WorkKindName = "build" | "deploy";

/** Work of one kind that waits for an agent of `orgId` carrying `labels`. */
export interface WaitingWork {
  orgId: string;
  labels: Record<string, string>;
  count: number;
}

/** How many waiting items waitingWork looks at: enough to choose whom to wake. */
export const WAITING_SAMPLE = 1000;

/**
 * What waits for an agent, grouped by who could take it, among the oldest WAITING_SAMPLE items. A
 * full sample may leave some groups out: the caller then wakes every idle agent.
 */
export async function waitingWork(db: Db, kind: WorkKindName): Promise<WaitingWork[]> {
  // The services whose work waits (one row per item), and the labels that kind of work requires.
  const [waiting, labels] =
    kind === "build"
      ? [sql`SELECT service_id FROM builds WHERE status = 'pending' LIMIT ${WAITING_SAMPLE}`, sql`s.build_agent_labels`]
      : [
          sql`SELECT d.service_id
              FROM (SELECT deployment_id FROM deploy_work_items WHERE status = 'pending' LIMIT ${WAITING_SAMPLE}) w
              JOIN deployments d ON d.id = w.deployment_id`,
          sql`s.deploy_agent_labels`,
        ];
  const { rows } = await sql<WaitingWork>`
    SELECT p.org_id AS "orgId", ${labels} AS labels, count(*)::int AS count
    FROM (${waiting}) waiting
    JOIN services s ON s.id = waiting.service_id
    JOIN projects p ON p.id = s.project_id
    GROUP BY 1, 2`.execute(db);
  return rows;
}

/** Queues a NOTIFY that Postgres delivers when (and only if) the transaction commits. */
export async function notifyWorkAvailable(trx: Transaction<Database> | Db, kind: WorkKindName): Promise<void> {
  await sql`SELECT pg_notify(${CHANNEL}, ${kind})`.execute(trx);
}

/** Holds one LISTEN connection and re-emits each notification as a `work` event; reconnects on loss. */
export class WorkListener extends EventEmitter<{
  work: [WorkKindName];
  cancel: [CancelNotice];
  /** A build whose log grew (payload: its id). */
  log: [string];
  /** An agent was revoked, drained or undrained (payload: its id). */
  agent: [string];
  /** The connection was lost and is back: notifications may have been missed meanwhile. */
  reconnected: [];
  error: [Error];
}> {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly connectionString: string) {
    super();
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on("notification", (message) => {
      if (message.channel === CHANNEL && (message.payload === "build" || message.payload === "deploy")) {
        this.emit("work", message.payload);
      } else if (message.channel === AGENT_CHANNEL && message.payload) {
        this.emit("agent", message.payload);
      } else if (message.channel === LOG_CHANNEL && message.payload) {
        this.emit("log", message.payload);
      } else if (message.channel === CANCEL_CHANNEL && message.payload) {
        try {
          this.emit("cancel", JSON.parse(message.payload) as CancelNotice);
        } catch {
          // not ours: ignore
        }
      }
    });
    client.on("error", (error) => {
      this.emit("error", error);
      this.reconnectLater();
    });
    client.on("end", () => this.reconnectLater());
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    await client.query(`LISTEN ${CANCEL_CHANNEL}`);
    await client.query(`LISTEN ${LOG_CHANNEL}`);
    await client.query(`LISTEN ${AGENT_CHANNEL}`);
    this.client = client;
  }

  private reconnectLater(): void {
    if (this.stopped || this.retryTimer) return;
    this.client = undefined;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.start().then(
        // Work may have arrived while we were deaf: tell listeners to look.
        () => {
          this.emit("work", "build");
          this.emit("work", "deploy");
          this.emit("reconnected");
        },
        () => this.reconnectLater(),
      );
    }, 1000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
