// One LISTEN connection per control plane, shared by everything that reacts to another process's
// writes (new work, cancels, log chunks, agent changes). Notifications are hints: when the
// connection is lost they may be missed, so after it is back the `reconnected` event tells every
// listener to look again.
import { EventEmitter } from "node:events";
import pg from "pg";

type Handler = (payload: string) => void;

export class NotificationListener extends EventEmitter<{
  /** The connection was lost and is back: notifications may have been missed meanwhile. */
  reconnected: [];
  error: [Error];
}> {
  private readonly handlers = new Map<string, Handler[]>();
  private client: pg.Client | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly connectionString: string) {
    super();
  }

  /** Calls `handler` with the payload of every notification on `channel`; subscribe before start(). */
  subscribe(channel: string, handler: Handler): void {
    this.handlers.set(channel, [...(this.handlers.get(channel) ?? []), handler]);
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on("notification", (message) => {
      if (message.payload === undefined) return;
      for (const handler of this.handlers.get(message.channel) ?? []) handler(message.payload);
    });
    client.on("error", (error) => {
      this.emit("error", error);
      this.reconnectLater();
    });
    client.on("end", () => this.reconnectLater());
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    this.client = client;
  }

  private reconnectLater(): void {
    if (this.stopped || this.retryTimer) return;
    this.client = undefined;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.start().then(
        () => this.emit("reconnected"),
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
