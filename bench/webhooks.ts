// Benchmark: signed GitHub push webhooks against the real POST /api/webhooks/github (a real control
// plane, started by startControlPlane() on a fresh, migrated PostgreSQL database), measured in the
// same run beside a "floor": a bare fastify route that does one PostgreSQL INSERT per request. The
// targets are measured alternately (floor, webhook, floor, webhook, ...) under the same load, and
// compared as ratios, because the machine is shared and noisy. Afterwards every stored delivery is
// checked to have produced exactly one build.
//
//   bench/run.sh [--duration 10] [--warmup 2] [--connections 32] [--pipelining 1] [--rounds 2]
//                [--waits] [--json out.json]
//
// Exits non-zero only when the benchmark itself fails, never because a target was missed.
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { loadConfig, startControlPlane } from "@slipway/control-plane";
import { machineBusySeconds, postgresSecondsBetween, postgresTicks } from "./proc.js";
import type { FromLoader, PhaseResult, ToLoader } from "./protocol.js";
import { admin, urlFor } from "./database.js";

// ---- options -----------------------------------------------------------------------------------

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "32" },
    pipelining: { type: "string", default: "1" },
    rounds: { type: "string", default: "2" },
    pool: { type: "string", default: "50000" },
    "log-level": { type: "string", default: "silent" },
    "no-floor": { type: "boolean", default: false },
    waits: { type: "boolean", default: false },
    json: { type: "string" },
  },
});

const options = {
  durationSeconds: Number(args.duration),
  warmupSeconds: Number(args.warmup),
  connections: Number(args.connections),
  pipelining: Number(args.pipelining),
  rounds: Number(args.rounds),
  /** Signed deliveries ready before each phase; more than a phase can send. */
  poolSize: Number(args.pool),
  logLevel: args["log-level"]!,
  floor: !args["no-floor"],
  waits: args.waits!,
};

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const REPOSITORY_ID = 424242;
const BRANCH = "main";
/** The same number of PostgreSQL connections the control plane has (createDatabase()'s default). */
const FLOOR_POOL_SIZE = 10;
const TARGETS = { webhooksPerSecond: 1000, p99Ms: 50, floorRatio: 0.5 };

// fastify is the control plane's dependency, not the workspace root's: the floor loads it from there,
// so that both servers run the same fastify.
const controlPlaneRequire = createRequire(fileURLToPath(import.meta.resolve("@slipway/control-plane")));
type Handler = (
  request: { body: unknown; headers: Record<string, string | string[] | undefined> },
  reply: { status(code: number): { send(body: unknown): unknown } },
) => Promise<unknown>;
interface FastifyLike {
  post(path: string, handler: Handler): void;
  listen(options: { host: string; port: number }): Promise<string>;
  close(): Promise<unknown>;
}
const Fastify = controlPlaneRequire("fastify") as (options: { logger: boolean }) => FastifyLike;

// ---- CPU accounting: this process (the servers), PostgreSQL, the machine -----------------------

interface CpuSnapshot {
  at: number;
  server: number;
  serverSystem: number;
  postgres: Map<string, number>;
  machineBusy: number;
  elu: ReturnType<typeof performance.eventLoopUtilization>;
}

function snapshot(): CpuSnapshot {
  const cpu = process.cpuUsage();
  return {
    at: performance.now(),
    server: (cpu.user + cpu.system) / 1e6,
    serverSystem: cpu.system / 1e6,
    postgres: postgresTicks(),
    machineBusy: machineBusySeconds(),
    elu: performance.eventLoopUtilization(),
  };
}

/** Fractions of one core over a timed phase. */
interface CpuUse {
  server: number;
  /** The kernel's part of the server's CPU (socket reads and writes). */
  serverSystem: number;
  postgres: number;
  loader: number;
  machine: number;
  /** The servers' event loop: 1 means it never waited for I/O. */
  eventLoop: number;
}

function cpuBetween(a: CpuSnapshot, b: CpuSnapshot, loader: number): CpuUse {
  const seconds = (b.at - a.at) / 1000;
  return {
    server: (b.server - a.server) / seconds,
    serverSystem: (b.serverSystem - a.serverSystem) / seconds,
    postgres: postgresSecondsBetween(a.postgres, b.postgres) / seconds,
    loader,
    machine: (b.machineBusy - a.machineBusy) / seconds,
    eventLoop: performance.eventLoopUtilization(b.elu, a.elu).utilization,
  };
}

/** Counts the PostgreSQL statements this process sends while `fn` runs (every pg client is pg.Client). */
async function countStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = prototype.query;
  let statements = 0;
  prototype.query = function (this: unknown, ...queryArgs: unknown[]) {
    statements++;
    return original.apply(this, queryArgs);
  };
  try {
    return { result: await fn(), statements };
  } finally {
    prototype.query = original;
  }
}

// ---- helper processes --------------------------------------------------------------------------

class Loader {
  private readonly child: ChildProcess;
  private waiting: ((message: FromLoader) => void) | undefined;
  onTimedStart: (() => void) | undefined;

  constructor() {
    this.child = fork(fileURLToPath(new URL("./load.js", import.meta.url)), [], { stdio: "inherit" });
    this.child.on("message", (message: FromLoader) => {
      if (message.type === "timed-start") return this.onTimedStart?.();
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.(message);
    });
    this.child.on("exit", (code) => this.waiting?.({ type: "error", message: `load generator exited (${code})` }));
  }

  request<T extends FromLoader["type"]>(message: ToLoader, expect: T): Promise<Extract<FromLoader, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.waiting = (reply) => {
        if (reply.type === expect) resolve(reply as Extract<FromLoader, { type: T }>);
        else reject(new Error(reply.type === "error" ? reply.message : `unexpected ${reply.type}`));
      };
      this.child.send(message);
    });
  }

  stop(): void {
    if (this.child.connected) this.child.send({ type: "exit" } satisfies ToLoader);
    setTimeout(() => this.child.kill(), 2000).unref();
  }
}

function startWaitSampler(databaseUrl: string, database: string): () => Promise<Record<string, number>> {
  const child = fork(fileURLToPath(new URL("./waits.js", import.meta.url)), [databaseUrl, database]);
  const report = new Promise<{ samples: number; counts: Record<string, number> }>((resolve, reject) => {
    child.once("message", (message) => resolve(message as { samples: number; counts: Record<string, number> }));
    child.once("exit", (code) => reject(new Error(`wait sampler exited (${code})`)));
  });
  return async () => {
    child.send({ type: "stop" });
    const { samples, counts } = await report;
    // Backends seen in each state, on average over the samples.
    return Object.fromEntries(Object.entries(counts).map(([state, n]) => [state, n / Math.max(samples, 1)]));
  };
}

// ---- the run -----------------------------------------------------------------------------------

interface Target {
  name: string;
  /** Webhook targets store deliveries and builds; the floor stores a row of its own. */
  kind: "floor" | "webhook";
  url: string;
  path: string;
}

interface Phase {
  target: string;
  round: number;
  load: PhaseResult;
  cpu: CpuUse;
  waits?: Record<string, number>;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
const pct = (x: number) => `${Math.round(x * 100)}%`;
const mark = (ok: boolean) => (ok ? "PASS" : "FAIL");

async function main(): Promise<void> {
  const secret = randomBytes(24).toString("hex");
  const token = randomBytes(24).toString("hex");
  // Required by the control plane (it seals the agent CA's key with it); one of its own per run,
  // as bench/agent-channel.ts does: nothing sealed outlives the run's database.
  const secretKey = randomBytes(32).toString("base64");
  const dbName = `slipway_bench_${randomBytes(5).toString("hex")}`;
  const databaseUrl = urlFor(dbName);
  const cleanups: (() => Promise<unknown> | void)[] = [];

  try {
    // 1. A fresh database (startControlPlane migrates it from migrations/).
    await admin(`CREATE DATABASE ${dbName}`);
    cleanups.push(() => admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`));
    // Named, so that whoever stops a run half-way (or a test that times out) can drop it.
    console.error(`database ${dbName} (dropped at the end)`);
    const counter = new pg.Pool({ connectionString: databaseUrl, max: 1 }); // counts rows afterwards
    cleanups.push(() => counter.end());

    // 2. The real control plane (HTTP app, gRPC agent service, work listener, reaper), configured
    //    the way a deployment configures it, and in this same process the floor beside it.
    const config = loadConfig({
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      HTTP_HOST: "127.0.0.1",
      HTTP_PORT: "0",
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "0",
      GITHUB_WEBHOOK_SECRET: secret,
      SLIPWAY_BOOTSTRAP_TOKEN: token,
      SLIPWAY_SECRET_KEY: secretKey,
      LOG_LEVEL: options.logLevel,
    });
    const controlPlane = await startControlPlane(config);
    cleanups.push(() => controlPlane.stop());
    const targets: Target[] = [];

    if (options.floor) {
      const floorPool = new pg.Pool({ connectionString: databaseUrl, max: FLOOR_POOL_SIZE });
      floorPool.on("error", () => {});
      cleanups.push(() => floorPool.end());
      await floorPool.query(
        "CREATE TABLE bench_floor (id bigserial PRIMARY KEY, delivery_id text NOT NULL, received_at timestamptz NOT NULL DEFAULT now())",
      );
      const floor = Fastify({ logger: false });
      floor.post("/floor", async (request, reply) => {
        await floorPool.query("INSERT INTO bench_floor (delivery_id) VALUES ($1)", [
          request.headers["x-github-delivery"],
        ]);
        return reply.status(202).send({ ok: true });
      });
      cleanups.push(() => floor.close());
      targets.push({
        name: "floor",
        kind: "floor",
        url: await floor.listen({ host: "127.0.0.1", port: 0 }),
        path: "/floor",
      });
    }
    targets.push({ name: "webhook", kind: "webhook", url: controlPlane.httpUrl, path: "/api/webhooks/github" });

    // 3. One project with one service linked to the repository, through the real API.
    const api = async (path: string, body: unknown): Promise<{ id: string }> => {
      const response = await fetch(`${controlPlane.httpUrl}/api${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (response.status !== 201) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as { id: string };
    };
    const project = await api("/projects", { name: "bench" });
    await api(`/projects/${project.id}/services`, {
      name: "web",
      gitUrl: "https://example.invalid/acme/web.git",
      githubRepoId: REPOSITORY_ID,
      branch: BRANCH,
      containerPort: 8080,
    });

    // 4. The load generator, in its own process; signed pushes prepared before each phase.
    const loader = new Loader();
    cleanups.push(() => loader.stop());
    const prepare = () =>
      loader.request(
        { type: "prepare", secret, repositoryId: REPOSITORY_ID, branch: BRANCH, size: options.poolSize },
        "prepared",
      );
    const prepared = await prepare();
    console.error(`signed ${prepared.generated} push deliveries in ${prepared.milliseconds} ms`);

    const measure = async (target: Target, round: number, connections: number, warmup: number, duration: number) => {
      let start: CpuSnapshot | undefined;
      let stopWaits: (() => Promise<Record<string, number>>) | undefined;
      loader.onTimedStart = () => {
        start = snapshot();
        if (options.waits && round > 0) stopWaits = startWaitSampler(databaseUrl, dbName);
      };
      const { result } = await loader.request(
        {
          type: "run",
          label: `${target.name}-${round}`,
          url: target.url,
          path: target.path,
          connections,
          pipelining: options.pipelining,
          warmupSeconds: warmup,
          durationSeconds: duration,
        },
        "result",
      );
      const end = snapshot();
      const phase: Phase = {
        target: target.name,
        round,
        load: result,
        cpu: cpuBetween(start ?? end, end, result.loaderCpu),
      };
      if (stopWaits) phase.waits = await stopWaits();
      // Let requests still in flight when the loader stopped finish.
      await new Promise((resolve) => setTimeout(resolve, 300));
      return phase;
    };

    // A short check of each target on one connection, counting the statements each request sends;
    // a target that does not accept the benchmark's deliveries stops the run.
    const statementsPerRequest: Record<string, number> = {};
    const phases: Phase[] = [];
    for (const target of targets) {
      const { result: check, statements } = await countStatements(() => measure(target, 0, 1, 0, 1));
      if (check.load.responses === 0 || check.load.non2xx > 0) {
        throw new Error(
          `${target.name} does not accept the benchmark's requests: ${JSON.stringify(check.load.statusCodes)}`,
        );
      }
      statementsPerRequest[target.name] = statements / check.load.consumed;
      phases.push(check);
    }

    for (let round = 1; round <= options.rounds; round++) {
      for (const target of targets) {
        await prepare();
        const phase = await measure(target, round, options.connections, options.warmupSeconds, options.durationSeconds);
        phases.push(phase);
        console.error(
          `${target.name} round ${round}: ${int(phase.load.requestsPerSecond)} req/s, p50 ${fmt(phase.load.p50)} ms, ` +
            `p99 ${fmt(phase.load.p99)} ms, non-2xx ${phase.load.non2xx}` +
            (phase.load.signedInline ? `, ${phase.load.signedInline} signed inline (raise --pool)` : ""),
        );
      }
    }

    // 5. Exactly once: every stored delivery has exactly one build, and nothing else made builds.
    const count = async (query: string) => Number((await counter.query<{ n: string }>(query)).rows[0]!.n);
    const deliveries = await count("SELECT count(*) AS n FROM webhook_deliveries");
    const exactlyOnce = {
      deliveries,
      queued: await count("SELECT count(*) AS n FROM webhook_deliveries WHERE outcome = 'queued'"),
      builds: await count("SELECT count(*) AS n FROM builds"),
      orphans: await count("SELECT count(*) AS n FROM builds WHERE delivery_id IS NULL"),
      notExactlyOne: await count(`
        SELECT count(*) AS n FROM webhook_deliveries d
        LEFT JOIN (SELECT delivery_id, count(*) AS builds FROM builds GROUP BY delivery_id) b USING (delivery_id)
        WHERE coalesce(b.builds, 0) <> 1`),
      accepted: 0,
      duplicates: 0,
      sent: 0,
    };
    for (const phase of phases) {
      if (targets.find((t) => t.name === phase.target)?.kind !== "webhook") continue;
      exactlyOnce.accepted += phase.load.allStatusCodes["202"] ?? 0;
      exactlyOnce.duplicates += phase.load.allStatusCodes["200"] ?? 0;
      exactlyOnce.sent += phase.load.consumed;
    }
    const e = exactlyOnce;
    const exactlyOncePass =
      e.queued === e.deliveries &&
      e.builds === e.deliveries &&
      e.orphans === 0 &&
      e.notExactlyOne === 0 &&
      e.duplicates === 0 &&
      e.accepted <= e.deliveries &&
      e.deliveries <= e.sent;

    console.log(report(targets, phases, statementsPerRequest, exactlyOnce, exactlyOncePass));
    if (args.json) {
      writeFileSync(
        args.json,
        JSON.stringify({ options, statementsPerRequest, phases, exactlyOnce, exactlyOncePass }, null, 2),
      );
    }
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await Promise.resolve()
        .then(cleanup)
        .catch((error: unknown) => console.error("cleanup:", error));
    }
  }
}

function report(
  targets: Target[],
  phases: Phase[],
  statementsPerRequest: Record<string, number>,
  e: {
    deliveries: number;
    builds: number;
    orphans: number;
    notExactlyOne: number;
    accepted: number;
    duplicates: number;
    sent: number;
  },
  exactlyOncePass: boolean,
): string {
  const measured = phases.filter((p) => p.round > 0);
  const summary = (name: string) => {
    const list = measured.filter((p) => p.target === name);
    return {
      rps: median(list.map((p) => p.load.requestsPerSecond)),
      best: Math.max(...list.map((p) => p.load.requestsPerSecond)),
      p50: median(list.map((p) => p.load.p50)),
      p99: median(list.map((p) => p.load.p99)),
      non2xx: list.reduce((sum, p) => sum + p.load.non2xx, 0),
      serverUs: median(list.map((p) => (p.cpu.server / p.load.requestsPerSecond) * 1e6)),
      postgresUs: median(list.map((p) => (p.cpu.postgres / p.load.requestsPerSecond) * 1e6)),
    };
  };
  const floor = targets.some((t) => t.name === "floor") ? summary("floor") : undefined;
  const webhook = summary("webhook");
  const ratio = floor ? webhook.rps / floor.rps : NaN;
  const cpus = os.cpus();

  const lines = [
    `Webhook benchmark, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC: ${cpus.length} × ` +
      `${cpus[0]?.model.trim() ?? "CPU"}, Node ${process.version}; ${options.connections} connections, pipelining ` +
      `${options.pipelining}, ${options.warmupSeconds} s warm-up + ${options.durationSeconds} s per phase, ` +
      `${options.rounds} rounds; ${FLOOR_POOL_SIZE} PostgreSQL connections per server; log level ${options.logLevel}.`,
    "",
    "| target | req/s, median (best) | p50 ms | p99 ms | non-2xx | SQL statements/req | server CPU µs/req | PostgreSQL CPU µs/req |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const target of targets) {
    const s = summary(target.name);
    lines.push(
      `| ${target.name === "floor" ? "floor (1 INSERT)" : "**webhook**"} | ` +
        `${int(s.rps)} (${int(s.best)}) | ${fmt(s.p50)} | ${fmt(s.p99)} | ${s.non2xx} | ` +
        `${fmt(statementsPerRequest[target.name] ?? NaN)} | ${int(s.serverUs)} | ${int(s.postgresUs)} |`,
    );
  }

  lines.push(
    "",
    "| target | measured | result |",
    "| --- | --- | --- |",
    `| ≥ ${int(TARGETS.webhooksPerSecond)} webhooks/s | ${int(webhook.rps)}/s | ${mark(webhook.rps >= TARGETS.webhooksPerSecond)} |`,
    `| p99 < ${TARGETS.p99Ms} ms | ${fmt(webhook.p99)} ms | ${mark(webhook.p99 < TARGETS.p99Ms && webhook.non2xx === 0)} |`,
  );
  if (floor) {
    lines.push(
      `| ≥ ${TARGETS.floorRatio} × the floor's throughput | ${fmt(ratio, 2)} × | ${mark(ratio >= TARGETS.floorRatio)} |`,
    );
  }
  lines.push(
    `| exactly one build per delivery | ${int(e.deliveries)} deliveries, ${int(e.builds)} builds; ` +
      `${e.notExactlyOne} deliveries without exactly one build, ${e.orphans} builds without a delivery, ` +
      `${e.duplicates} answered as duplicates; ${int(e.accepted)} answered 202 ≤ stored ≤ ${int(e.sent)} sent | ` +
      `${mark(exactlyOncePass)} |`,
  );

  lines.push(
    "",
    "<details><summary>Every phase</summary>",
    "",
    "| phase | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | server CPU (kernel) | event loop | PostgreSQL CPU | loader CPU | anything else | machine CPU |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const p of measured) {
    lines.push(
      `| ${p.target} ${p.round} | ${int(p.load.requestsPerSecond)} | ${fmt(p.load.p50)} | ${fmt(p.load.p90)} | ` +
        `${fmt(p.load.p99)} | ${fmt(p.load.max)} | ${p.load.non2xx} | ${pct(p.cpu.server)} (${pct(p.cpu.serverSystem)}) | ` +
        `${pct(p.cpu.eventLoop)} | ${pct(p.cpu.postgres)} | ${pct(p.cpu.loader)} | ` +
        `${pct(Math.max(0, p.cpu.machine - p.cpu.server - p.cpu.postgres - p.cpu.loader))} | ` +
        `${pct(p.cpu.machine)} of ${cpus.length * 100}% |`,
    );
  }
  lines.push("", "</details>");
  const other = (p: Phase) => p.cpu.machine - p.cpu.server - p.cpu.postgres - p.cpu.loader;
  const noisy = measured.filter((p) => other(p) > 0.25);
  if (noisy.length > 0) {
    lines.push(
      "",
      `Other processes used more than a quarter of a core during ${noisy.map((p) => `${p.target} ${p.round}`).join(", ")}: ` +
        "absolute figures from those phases are low; compare ratios, or run again on a quieter machine.",
    );
  }

  const sampled = measured.filter((p) => p.waits);
  if (sampled.length > 0) {
    lines.push("", "PostgreSQL backends by state (average number seen per 20 ms sample):", "");
    for (const p of sampled) {
      const top = Object.entries(p.waits!)
        .filter(([, n]) => n >= 0.05)
        .map(([state, n]) => `${fmt(n, 2)} ${state}`);
      lines.push(`- ${p.target} ${p.round}: ${top.join("; ")}`);
    }
  }
  return lines.join("\n");
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
