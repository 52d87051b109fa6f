// Reading a replica container's log for the control plane (GET /api/services/:id/logs). The agent
// receives a ContainerLogsRequest on its session, checks that the container is one it started for
// that service (its slipway.* labels; nothing else on the host is ever read), reads
// GET /containers/{id}/logs from the container API (podman's Docker-compatible socket), and sends
// the lines back in batches with SendContainerLogs, one batch in flight at a time. It stops when the
// control plane says nobody reads any more, when the log ends, or when the session drops.
import type { IncomingMessage } from "node:http";
import type Docker from "dockerode";
import type { ContainerLogsRequest, SendContainerLogsRequest, SendContainerLogsResponse } from "@slipway/proto";
import { LogStream } from "@slipway/proto";
import type { AgentLogger } from "../logger.js";
import { LABELS } from "../runtime/containers.js";

/** A line longer than this is cut here and marked truncated; the rest of it is dropped. */
export const MAX_LINE_BYTES = 16 * 1024;
/** A batch is sent once it holds this many bytes of lines (or BATCH_DELAY_MS after its first line). */
const BATCH_BYTES = 256 * 1024;
const BATCH_DELAY_MS = 50;
/** Reading pauses while this much waits to be sent (the control plane or the reader is slow). */
const PAUSE_BYTES = 4 * BATCH_BYTES;
/** How many logs one agent reads at once. */
export const MAX_LOG_READERS = 16;

export interface LogLine {
  stream: "stdout" | "stderr";
  line: string;
  /** When the runtime received it, when the log carried a timestamp. */
  time?: Date;
  truncated: boolean;
}

/** An RFC 3339 timestamp and a space, as the logs API prefixes each line with `timestamps=1`. */
const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d) /;

function splitTimestamp(text: string): { time?: Date; line: string } {
  const match = TIMESTAMP.exec(text);
  if (!match) return { line: text };
  // Milliseconds are all a Date keeps; the runtime gives nanoseconds.
  const fraction = (match[2] ?? "").slice(0, 4);
  const time = new Date(`${match[1]}${fraction}${match[3]}`);
  return Number.isNaN(time.getTime()) ? { line: text } : { time, line: text.slice(match[0].length) };
}

/** The longest prefix of `buffer` up to `max` bytes that does not cut a UTF-8 character in two. */
function utf8Prefix(buffer: Buffer, max: number): Buffer {
  if (buffer.length <= max) return buffer;
  let end = max;
  while (end > 0 && ((buffer[end] as number) & 0xc0) === 0x80) end--;
  return buffer.subarray(0, end);
}

/** Assembles one stream's bytes into lines, capping each at `maxLineBytes`. */
class LineAssembler {
  private parts: Buffer[] = [];
  private length = 0;
  /** The current line was already emitted truncated: drop its bytes up to the next newline. */
  private discarding = false;

  constructor(
    private readonly stream: "stdout" | "stderr",
    private readonly maxLineBytes: number,
    private readonly timestamps: boolean,
  ) {}

  push(data: Buffer, out: LogLine[]): void {
    let start = 0;
    while (start < data.length) {
      const newline = data.indexOf(0x0a, start);
      const end = newline === -1 ? data.length : newline;
      if (!this.discarding) {
        this.parts.push(data.subarray(start, end));
        this.length += end - start;
        if (this.length > this.maxLineBytes) {
          this.emit(out, true);
          this.discarding = newline === -1;
        } else if (newline !== -1) this.emit(out, false);
      } else if (newline !== -1) this.discarding = false;
      if (newline === -1) break;
      start = newline + 1;
    }
  }

  /** The log ended: a last line without its newline still counts. */
  end(out: LogLine[]): void {
    if (this.length > 0) this.emit(out, false);
    this.discarding = false;
  }

  private emit(out: LogLine[], truncated: boolean): void {
    let bytes: Buffer = Buffer.concat(this.parts, this.length);
    this.parts = [];
    this.length = 0;
    if (truncated) bytes = utf8Prefix(bytes, this.maxLineBytes);
    let text = bytes.toString("utf8");
    if (!truncated && text.endsWith("\r")) text = text.slice(0, -1);
    const { time, line } = this.timestamps ? splitTimestamp(text) : { time: undefined, line: text };
    out.push(time ? { stream: this.stream, line, time, truncated } : { stream: this.stream, line, truncated });
  }
}

/**
 * Decodes the body of GET /containers/{id}/logs into lines. Without a TTY the body is multiplexed:
 * frames of an 8-byte header (stream type in byte 0: 1 stdout, 2 stderr; payload length in bytes 4-7,
 * big-endian) and the payload. Frames and lines may be split anywhere across the chunks that arrive.
 * With a TTY the body is the raw output (all of it stdout).
 */
export class LogDecoder {
  private readonly assemblers: Record<"stdout" | "stderr", LineAssembler>;
  private header: Buffer = Buffer.alloc(0);
  /** Payload bytes left in the current frame, and whose they are. */
  private remaining = 0;
  private stream: "stdout" | "stderr" = "stdout";

  constructor(
    private readonly options: { tty: boolean; timestamps: boolean; maxLineBytes?: number } = {
      tty: false,
      timestamps: true,
    },
  ) {
    const max = options.maxLineBytes ?? MAX_LINE_BYTES;
    this.assemblers = {
      stdout: new LineAssembler("stdout", max, options.timestamps),
      stderr: new LineAssembler("stderr", max, options.timestamps),
    };
  }

  push(chunk: Buffer): LogLine[] {
    const out: LogLine[] = [];
    if (this.options.tty) {
      this.assemblers.stdout.push(chunk, out);
      return out;
    }
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining === 0) {
        const needed = 8 - this.header.length;
        this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + needed)]);
        offset += Math.min(needed, chunk.length - offset);
        if (this.header.length < 8) break;
        this.stream = this.header[0] === 2 ? "stderr" : "stdout";
        this.remaining = this.header.readUInt32BE(4);
        this.header = Buffer.alloc(0);
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - offset);
      this.assemblers[this.stream].push(chunk.subarray(offset, offset + take), out);
      this.remaining -= take;
      offset += take;
    }
    return out;
  }

  end(): LogLine[] {
    const out: LogLine[] = [];
    this.assemblers.stdout.end(out);
    this.assemblers.stderr.end(out);
    return out;
  }
}

/** The control plane said nobody reads this log any more. */
export class StopRequested extends Error {
  override name = "StopRequested";
}

type Send = (message: SendContainerLogsRequest) => Promise<SendContainerLogsResponse>;

const toWire = (line: LogLine) => ({
  stream: line.stream === "stderr" ? LogStream.LOG_STREAM_STDERR : LogStream.LOG_STREAM_STDOUT,
  line: line.line,
  time: line.time,
  truncated: line.truncated,
});

/** Why a container may not be read for this request, or undefined when it may. */
export function refusal(labels: Record<string, string> | undefined, request: ContainerLogsRequest): string | undefined {
  const ours =
    labels?.[LABELS.managed] === "true" &&
    labels[LABELS.service] === request.serviceId &&
    (!request.deploymentId || labels[LABELS.deployment] === request.deploymentId) &&
    (!request.deploymentId || labels[LABELS.replica] === String(request.replicaIndex));
  return ours ? undefined : `container ${request.containerId} is not a replica Slipway runs for this service`;
}

/**
 * Reads one container's log and sends it; resolves when done. Never throws: a failure ends the
 * stream with its reason. Aborting `signal` stops reading; unless its reason is StopRequested, the
 * end is still sent (with the reason).
 */
export async function readContainerLogs(
  docker: Docker,
  request: ContainerLogsRequest,
  send: Send,
  signal: AbortSignal,
): Promise<ReadOutcome> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  let error: string | undefined;
  try {
    await stream(docker, request, send, controller);
  } catch (caught) {
    error = (caught as Error).message || String(caught);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  const reason: unknown = controller.signal.reason;
  if (reason instanceof StopRequested) return { outcome: "stopped", reason: reason.message };
  if (controller.signal.aborted) error = (reason as Error | undefined)?.message ?? "stopped";
  await send({ requestId: request.requestId, event: { $case: "end", value: { error: error ?? "" } } }).catch(() => {});
  return error === undefined ? { outcome: "ended", reason: "the log ended" } : { outcome: "failed", reason: error };
}

/** How reading a log ended: all of it sent, stopped (nobody reads it any more), or failed. */
export interface ReadOutcome {
  outcome: "ended" | "stopped" | "failed";
  reason: string;
}

async function stream(
  docker: Docker,
  request: ContainerLogsRequest,
  send: Send,
  controller: AbortController,
): Promise<void> {
  const signal = controller.signal;
  const info = await docker
    .getContainer(request.containerId)
    .inspect()
    .catch((error: { statusCode?: number }) => {
      if (error.statusCode === 404) throw new Error(`container ${request.containerId} is not on this host`);
      throw error;
    });
  const refused = refusal(info.Config.Labels ?? undefined, request);
  if (refused) throw new Error(refused);

  const query: Record<string, string | number | boolean> = {
    stdout: true,
    stderr: true,
    timestamps: true,
    tail: Math.max(1, request.tail),
    follow: request.follow,
  };
  if (request.since) query.since = Math.floor(request.since.getTime() / 1000);
  const body = await new Promise<IncomingMessage>((resolve, reject) =>
    docker.modem.dial(
      {
        path: `/containers/${encodeURIComponent(info.Id)}/logs?`,
        method: "GET",
        isStream: true,
        abortSignal: signal,
        statusCodes: { 200: true, 404: "no such container", 500: "server error" },
        options: query,
      },
      (error: Error | null, data?: unknown) => (error ? reject(error) : resolve(data as IncomingMessage)),
    ),
  );
  const decoder = new LogDecoder({ tty: info.Config.Tty === true, timestamps: true });
  let pending: LogLine[] = [];
  let pendingBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> | undefined;
  let failed: Error | undefined;

  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    if (sending) return sending;
    if (pending.length === 0 || signal.aborted) return Promise.resolve();
    const batch = pending;
    pending = [];
    pendingBytes = 0;
    sending = send({ requestId: request.requestId, event: { $case: "chunk", value: { lines: batch.map(toWire) } } })
      .then((answer) => {
        if (answer.stop) controller.abort(new StopRequested("nobody reads this log any more"));
      })
      .catch((error: Error) => {
        failed = error;
        controller.abort(error);
      })
      .finally(() => {
        sending = undefined;
        if (body.isPaused() && pendingBytes < PAUSE_BYTES) body.resume();
        if (pendingBytes >= BATCH_BYTES) void flush();
        else if (pending.length > 0) timer ??= setTimeout(() => void flush(), BATCH_DELAY_MS);
      });
    return sending;
  };

  const add = (lines: LogLine[]) => {
    for (const line of lines) {
      pending.push(line);
      pendingBytes += Buffer.byteLength(line.line) + 32;
    }
    if (pendingBytes >= BATCH_BYTES) void flush();
    else if (pending.length > 0) timer ??= setTimeout(() => void flush(), BATCH_DELAY_MS);
    if (pendingBytes >= PAUSE_BYTES) body.pause();
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        body.destroy();
        resolve();
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      body.on("data", (chunk: Buffer) => add(decoder.push(chunk)));
      body.on("end", () => {
        add(decoder.end());
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
      body.on("error", (error) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) resolve();
        else reject(error);
      });
    });
    // Everything read goes out before the end.
    while (!signal.aborted && (pending.length > 0 || sending)) await flush();
  } finally {
    clearTimeout(timer);
    body.destroy();
  }
  if (failed) throw failed;
}

/** The logs this agent is reading, each under the control plane's request id. */
export class ContainerLogReaders {
  private readonly readers = new Map<string, AbortController>();

  constructor(
    private readonly docker: Docker,
    private readonly send: Send,
    private readonly log: AgentLogger,
    private readonly limit = MAX_LOG_READERS,
  ) {}

  get active(): number {
    return this.readers.size;
  }

  start(request: ContainerLogsRequest): void {
    if (this.readers.has(request.requestId)) return; // the same request heard twice
    const fields = { requestId: request.requestId, containerId: request.containerId, follow: request.follow };
    if (this.readers.size >= this.limit) {
      this.log.warn("container logs refused: too many readers", fields);
      void this.send({
        requestId: request.requestId,
        event: { $case: "end", value: { error: `this agent already reads ${this.limit} logs; try again later` } },
      }).catch(() => {});
      return;
    }
    const controller = new AbortController();
    this.readers.set(request.requestId, controller);
    this.log.info("container logs started", fields);
    void readContainerLogs(this.docker, request, this.send, controller.signal).then(({ outcome, reason }) => {
      this.readers.delete(request.requestId);
      this.log.info("container logs ended", { ...fields, outcome, reason });
    });
  }

  stop(requestId: string): void {
    this.readers.get(requestId)?.abort(new StopRequested("stopped by the control plane"));
  }

  /** The session dropped: nobody can be reading any more. */
  stopAll(reason: string): void {
    for (const controller of this.readers.values()) controller.abort(new StopRequested(reason));
  }
}
