// The load generator, run as its own process so that it never shares the servers' event loop.
// It pre-signs GitHub-shaped push deliveries (each with its own X-GitHub-Delivery and commit, and
// an X-Hub-Signature-256 over its exact body) before a phase, then feeds them to autocannon one per
// request, so no signing happens while a phase is being measured.
import type { EventEmitter } from "node:events";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { sign } from "@octokit/webhooks-methods";
import { pushPayload } from "../test-support/webhooks.js";
import type { FromLoader, PhaseResult, PrepareMessage, RunMessage, ToLoader } from "./protocol.js";

const require = createRequire(import.meta.url);

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest;
}
interface AutocannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
}
type AutocannonInstance = EventEmitter & { stop(): void };
type Autocannon = (
  options: Record<string, unknown>,
  done: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;

const autocannon = require("autocannon") as Autocannon;

interface Signed {
  deliveryId: string;
  signature: string;
  body: Buffer;
}

function send(message: FromLoader): void {
  process.send?.(message);
}

// ---- the pool of signed deliveries -------------------------------------------------------------

let pool: Signed[] = [];
let cursor = 0;
let made = 0;
let secret = "";
let template: ReturnType<typeof pushPayload> | undefined;
const runTag = randomBytes(4).toString("hex");

function payloadFor(n: number): string {
  if (!template) throw new Error("prepare must come before run");
  const sha = (runTag + n.toString(16).padStart(32, "0")).slice(-40);
  template.after = sha;
  template.head_commit = { ...(template.head_commit as Record<string, unknown>), id: sha };
  return JSON.stringify(template);
}

async function prepare(message: PrepareMessage): Promise<void> {
  const started = performance.now();
  secret = message.secret;
  // GitHub's example push, as the tests send it; each delivery then gets its own commit sha.
  template = pushPayload({ repositoryId: message.repositoryId, branch: message.branch, sha: "0".repeat(40) });

  pool = pool.slice(cursor);
  cursor = 0;
  let generated = 0;
  while (pool.length < message.size) {
    const body = payloadFor(made++);
    pool.push({ deliveryId: randomUUID(), signature: await sign(secret, body), body: Buffer.from(body) });
    generated++;
  }
  send({ type: "prepared", generated, ready: pool.length, milliseconds: Math.round(performance.now() - started) });
}

let consumed = 0;
let signedInline = 0;

function next(): Signed {
  consumed++;
  const entry = pool[cursor];
  if (entry) {
    pool[cursor++] = undefined as unknown as Signed; // let it be collected
    return entry;
  }
  // The pool ran dry: sign here rather than repeat a delivery id (reported; raise --pool).
  signedInline++;
  const body = payloadFor(made++);
  const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  return { deliveryId: randomUUID(), signature, body: Buffer.from(body) };
}

// ---- one phase ---------------------------------------------------------------------------------

class Recorder {
  latencies = new Float64Array(1 << 16);
  count = 0;
  statusCodes: Record<string, number> = {};

  record(status: number, milliseconds: number): void {
    if (this.count === this.latencies.length) {
      const bigger = new Float64Array(this.latencies.length * 2);
      bigger.set(this.latencies);
      this.latencies = bigger;
    }
    this.latencies[this.count++] = milliseconds;
    this.statusCodes[status] = (this.statusCodes[status] ?? 0) + 1;
  }

  percentiles(): { p50: number; p90: number; p99: number; max: number } {
    const sorted = this.latencies.slice(0, this.count).sort();
    const at = (q: number) =>
      this.count === 0 ? NaN : sorted[Math.min(this.count - 1, Math.ceil(q * this.count) - 1)]!;
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
  }
}

function attack(
  message: RunMessage,
  seconds: number,
  recorder: Recorder,
): Promise<{ result: AutocannonResult; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url: message.url,
        connections: message.connections,
        pipelining: message.pipelining,
        duration: seconds,
        requests: [
          {
            method: "POST",
            path: message.path,
            setupRequest: (request: AutocannonRequest) => {
              const signed = next();
              return {
                ...request,
                headers: {
                  "content-type": "application/json",
                  "user-agent": "GitHub-Hookshot/bench",
                  "x-github-event": "push",
                  "x-github-delivery": signed.deliveryId,
                  "x-hub-signature-256": signed.signature,
                },
                body: signed.body,
              };
            },
          },
        ],
      },
      (error, result) => (error ? reject(error) : resolve({ result, seconds: (performance.now() - started) / 1000 })),
    );
    instance.on("response", (_client: unknown, status: number, _bytes: number, milliseconds: number) =>
      recorder.record(status, milliseconds),
    );
  });
}

async function run(message: RunMessage): Promise<PhaseResult> {
  consumed = 0;
  signedInline = 0;
  const warm = new Recorder();
  if (message.warmupSeconds > 0) await attack(message, message.warmupSeconds, warm);

  send({ type: "timed-start" });
  const cpuBefore = process.cpuUsage();
  const timed = new Recorder();
  const { result, seconds } = await attack(message, message.durationSeconds, timed);
  const cpu = process.cpuUsage(cpuBefore);

  const allStatusCodes: Record<string, number> = { ...warm.statusCodes };
  for (const [code, n] of Object.entries(timed.statusCodes)) allStatusCodes[code] = (allStatusCodes[code] ?? 0) + n;
  const non2xx = Object.entries(timed.statusCodes)
    .filter(([code]) => !code.startsWith("2"))
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    label: message.label,
    responses: timed.count,
    seconds,
    requestsPerSecond: timed.count / seconds,
    ...timed.percentiles(),
    statusCodes: timed.statusCodes,
    non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    consumed,
    allStatusCodes,
    signedInline,
    loaderCpu: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}

process.on("message", (message: ToLoader) => {
  const work =
    message.type === "prepare"
      ? prepare(message)
      : message.type === "run"
        ? run(message).then((result) => send({ type: "result", result }))
        : Promise.resolve(process.disconnect());
  work.catch((error: unknown) =>
    send({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
