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
  private readonly queue: { seq: number; data: Buffer; gap: boolean }[] = [];
  private queuedBytes = 0;
  private droppedBytes = 0;
  private nextSeq: number;
  private sending: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private failure: unknown;

  constructor(
    private readonly send: SendChunk,
    private readonly secrets: string[] = [],
    private readonly onLeaseLost: () => void = () => {},
    /** Where numbering starts: after the chunks already stored when an attempt is resumed. */
    firstSeq = 1,
  ) {
    this.nextSeq = Math.max(1, firstSeq);
    this.timer = setInterval(() => this.cut(false), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Adds output. Whole lines are masked and cut into chunks; a partial line waits for its end. */
  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= CHUNK_BYTES) this.cut(false);
  }

  /** Masks `secret` wherever it appears in output written from now on. */
  addSecret(secret: string): void {
    if (secret) this.secrets.push(secret);
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
    for (const part of splitUtf8(Buffer.from(text, "utf8"), CHUNK_BYTES)) this.enqueue(part);
    this.pump();
  }

  /**
   * Queues a chunk. Beyond the spool limit the oldest unsent chunks (never the one in flight) are
   * folded into one gap marker, so memory stays bounded and the log says what it lost.
   */
  private enqueue(data: Buffer): void {
    while (this.queuedBytes + data.length > SPOOL_LIMIT_BYTES && this.queue.length > 2) {
      const victim = this.queue.findIndex((c, i) => i > 0 && !c.gap);
      if (victim === -1) break;
      const [dropped] = this.queue.splice(victim, 1);
      if (!dropped) break;
      this.queuedBytes -= dropped.data.length;
      this.droppedBytes += dropped.data.length;
      const marker = this.queue.find((c, i) => i > 0 && c.gap);
      const text = Buffer.from(`[slipway: ${this.droppedBytes} bytes of log were dropped here]\n`);
      if (marker) {
        this.queuedBytes += text.length - marker.data.length;
        marker.data = text;
      } else {
        this.queue.splice(victim, 0, { seq: dropped.seq, data: text, gap: true });
        this.queuedBytes += text.length;
      }
    }
    this.queue.push({ seq: this.nextSeq++, data, gap: false });
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

/** Splits bytes into pieces of at most `limit` bytes without cutting a UTF-8 character in two. */
export function splitUtf8(data: Buffer, limit: number): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    let end = Math.min(start + limit, data.length);
    // Step back over continuation bytes (10xxxxxx) so the piece ends on a character boundary.
    if (end < data.length) while (end > start && ((data[end] ?? 0) & 0xc0) === 0x80) end--;
    if (end === start) end = Math.min(start + limit, data.length);
    parts.push(Buffer.from(data.subarray(start, end)));
    start = end;
  }
  return parts;
}
