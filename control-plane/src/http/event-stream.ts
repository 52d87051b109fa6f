// Server-Sent Events for the API's live streams (a build's log, a replica's container log): the
// response headers, the framing of each event, and waiting for a slow reader. Until start() the
// route may still answer with an error status; events sent before it wait and go out with it.
import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * The text of one event. SSE ends a line at CR, LF or CRLF: data is split on all three, so that
 * output (progress bars use a lone CR) can never start a field of its own such as `id:` or `event:`.
 */
export function formatEvent(event: string, data: string, id?: string): string {
  const lines = data.replace(/(\r\n|\r|\n)$/, "").split(/\r\n|\r|\n/);
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\n${lines.map((line) => `data: ${line}`).join("\n")}\n\n`;
}

export class EventStream {
  private started = false;
  private waiting: string[] = [];
  private isClosed = false;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
  ) {
    request.raw.on("close", () => this.markClosed());
  }

  /** Takes the response over from fastify and sends the headers (and any event sent so far). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.reply.hijack();
    this.reply.raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    this.reply.raw.on("close", () => this.markClosed());
    const waiting = this.waiting;
    this.waiting = [];
    for (const text of waiting) this.reply.raw.write(text);
  }

  /** The client went away (or end() was called). */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes written but not yet taken by the client. */
  get buffered(): number {
    return this.started ? this.reply.raw.writableLength : this.waiting.reduce((sum, text) => sum + text.length, 0);
  }

  onClose(listener: () => void): void {
    if (this.isClosed) listener();
    else this.closeListeners.push(listener);
  }

  /** Sends one event; resolves once the client took it in (a slow reader is not buffered for). */
  send(event: string, data: string, id?: string): Promise<void> {
    return this.sendAll([{ event, data, id }]);
  }

  /** Sends events in one write; resolves once the client took them in. Writes in call order. */
  async sendAll(events: { event: string; data: string; id?: string }[]): Promise<void> {
    if (this.isClosed || events.length === 0) return;
    const text = events.map((e) => formatEvent(e.event, e.data, e.id)).join("");
    if (!this.started) {
      this.waiting.push(text);
      return;
    }
    const res = this.reply.raw;
    if (!res.write(text)) await new Promise((resolve) => res.once("drain", resolve).once("close", resolve));
  }

  /**
   * Writes an SSE comment every `ms` while the stream is open: proxies keep an idle stream open, and
   * a client that vanished without closing its connection is noticed at the next write.
   */
  keepAlive(ms: number): void {
    const timer = setInterval(() => {
      if (this.started && !this.isClosed) this.reply.raw.write(": keep-alive\n\n");
    }, ms);
    timer.unref();
    this.onClose(() => clearInterval(timer));
  }

  end(): void {
    if (this.started && !this.reply.raw.writableEnded) this.reply.raw.end();
    this.markClosed();
  }

  private markClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
