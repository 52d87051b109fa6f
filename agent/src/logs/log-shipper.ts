// Ships one build attempt's output to the control plane as numbered chunks, in order, resending
// each until it is acknowledged. Storing is idempotent on the server, so a resend after a lost
// acknowledgement does no harm. Known secrets are masked before anything leaves the agent.
import { delay, fullJitterDelay } from "../channel/backoff.js";
import { isLeaseLost, isTransient } from "../channel/channel.js";

export const CHUNK_BYTES = 64 * 1024;
const FLUSH_INTERVAL_MS = 200;
/** What the agent keeps of not-yet-acknowledged output; beyond it, the oldest text gives way to a gap marker. */
const SPOOL_LIMIT_BYTES = 16 * 1024 * 1024;

export type SendChunk = (seq: number, data: Buffer) => Promise<void>;

export class LogShipper {
  private pending = "";
  private readonly queue: { seq: number; data: Buffer }[] = [];
  private queuedBytes = 0;
  private nextSeq = 1;
  private sending: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private failure: unknown;

  constructor(
    private readonly send: SendChunk,
    private readonly secrets: string[] = [],
    private readonly onLeaseLost: () => void = () => {},
  ) {
    this.timer = setInterval(() => this.cut(false), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Adds output. Whole lines are masked and cut into chunks; a partial line waits for its end. */
  write(text: string | Buffer): void {
    this.pending += typeof text === "string" ? text : text.toString("utf8");
    if (this.pending.length >= CHUNK_BYTES) this.cut(false);
  }

  line(text: string): void {
    this.write(`${text}\n`);
  }

  private mask(text: string): string {
    let masked = text;
    for (const secret of this.secrets) if (secret) masked = masked.split(secret).join("***");
    return masked;
  }

  /** Moves complete lines (or everything, when `all`) into the send queue. */
  private cut(all: boolean): void {
    const end = all ? this.pending.length : this.pending.lastIndexOf("\n") + 1;
    if (end <= 0 && this.pending.length < CHUNK_BYTES) return;
    const take = end > 0 ? end : this.pending.length;
    const text = this.mask(this.pending.slice(0, take));
    this.pending = this.pending.slice(take);
    let data = Buffer.from(text, "utf8");
    while (data.length > 0) {
      const part = data.subarray(0, CHUNK_BYTES);
      data = data.subarray(CHUNK_BYTES);
      this.enqueue(Buffer.from(part));
    }
    this.pump();
  }

  private enqueue(data: Buffer): void {
    while (this.queuedBytes + data.length > SPOOL_LIMIT_BYTES && this.queue.length > 1) {
      // Drop the oldest unsent chunk (never the one being sent) and say so in the log.
      const dropped = this.queue.splice(1, 1)[0];
      if (!dropped) break;
      this.queuedBytes -= dropped.data.length;
      const marker = Buffer.from(`[slipway: ${dropped.data.length} bytes of log were dropped here]\n`);
      this.queue.splice(1, 0, { seq: dropped.seq, data: marker });
      this.queuedBytes += marker.length;
    }
    this.queue.push({ seq: this.nextSeq++, data });
    this.queuedBytes += data.length;
  }

  private pump(): void {
    if (this.sending || this.queue.length === 0 || this.failure) return;
    this.sending = this.drain().finally(() => {
      this.sending = undefined;
      if (this.queue.length > 0 && !this.failure) this.pump();
    });
  }

  private async drain(): Promise<void> {
    let attempt = 0;
    while (this.queue.length > 0) {
      const head = this.queue[0];
      if (!head) return;
      try {
        await this.send(head.seq, head.data);
        this.queue.shift();
        this.queuedBytes -= head.data.length;
        attempt = 0;
      } catch (error) {
        if (isLeaseLost(error)) {
          this.failure = error;
          this.onLeaseLost();
          return;
        }
        if (!isTransient(error)) {
          this.failure = error;
          return;
        }
        await delay(fullJitterDelay(attempt++, 200, 5_000));
      }
    }
  }

  /** Sends everything written so far; resolves once the control plane acknowledged all of it. */
  async flush(): Promise<void> {
    this.cut(true);
    while (this.sending) await this.sending;
    if (this.failure) throw this.failure;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
