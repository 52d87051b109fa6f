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

/** How much work of a kind waits for an agent (counted up to 1,000: enough to choose whom to wake). */
export async function pendingWork(db: Db, kind: WorkKindName): Promise<number> {
  const table = kind === "build" ? sql`builds` : sql`deploy_work_items`;
  const { rows } = await sql<{ n: string }>`
    SELECT count(*) AS n FROM (SELECT 1 FROM ${table} WHERE status = 'pending' LIMIT 1000) waiting`.execute(db);
  return Number(rows[0]?.n ?? 0);
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
