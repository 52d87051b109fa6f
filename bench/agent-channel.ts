// Benchmark: the agent channel. A real control plane runs as its own process on a fresh database;
// this process plays the agents (real gRPC clients, one connection each). Three measurements, each
// beside a baseline taken in the same run:
//
//   dispatch   build inserted (with its NOTIFY, as a webhook does) → an idle agent holds the claim,
//              with 1, 10 and 100 connected agents; baseline: the bare NOTIFY round trip.
//   drain      10,000 queued builds claimed and completed by 50 agents: claims/s, and exactly-once
//              verified row by row; baseline: the same claim and finish statements run directly by
//              50 agents through a pool of 10. For both, the cost per claim: control-plane CPU,
//              PostgreSQL CPU (/proc) and PostgreSQL's statements (pg_stat_statements).
//   heartbeat  1,000 agents, each with a session stream and one lease, heartbeating every 10 s: the
//              control plane's CPU and RSS; baseline: the same control plane with no agent connected.
//
//   bench/run.sh agent-channel [--dispatch-builds 200] [--drain-builds 10000] [--drain-agents 50]
//                              [--heartbeat-agents 1000] [--heartbeat-seconds 30] [--heartbeat-interval 10]
//                              [--json out.json]
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import {
  BUILD_TABLE,
  DEPLOY_TABLE,
  claimWork,
  createDatabase,
  finishWork,
  migrateToLatest,
} from "@slipway/control-plane";
import { enrolAgents, loadAgentCa, SimulatedAgent, type AgentCa } from "./simulated-agents.js";
import { machineBusySeconds, postgresSecondsBetween, postgresTicks, processUsage } from "./proc.js";
import type { WorkRef } from "@slipway/proto";
import { ADMIN_URL, admin, urlFor } from "./database.js";

const { values: args } = parseArgs({
  options: {
    "dispatch-builds": { type: "string", default: "200" },
    "drain-builds": { type: "string", default: "10000" },
    "drain-agents": { type: "string", default: "50" },
    "heartbeat-agents": { type: "string", default: "1000" },
    "heartbeat-seconds": { type: "string", default: "30" },
    // The agent's default; a short run (the test suite's) lowers it so that every agent has beaten
    // before the measurement starts without waiting 10 s.
    "heartbeat-interval": { type: "string", default: "10" },
    json: { type: "string" },
  },
});

const CONTROL_PLANE_MAIN = fileURLToPath(new URL("../../../control-plane/dist/main.js", import.meta.url));
const TOKEN = randomBytes(32).toString("hex");
const SECRET_KEY = randomBytes(32).toString("base64");
const ORG = "00000000-0000-4000-8000-000000000001";

// ---- helpers --------------------------------------------------------------------------------

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const ms = (value: number) => `${value.toFixed(1)} ms`;

interface ControlPlane {
  child: ChildProcess;
  grpcAddress: string;
  stop(): Promise<void>;
}

async function startControlPlane(databaseUrl: string): Promise<ControlPlane> {
  // For diagnosis, node options for the control plane: BENCH_CONTROL_PLANE_NODE_ARGS="--cpu-prof".
  const nodeArgs = process.env.BENCH_CONTROL_PLANE_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, CONTROL_PLANE_MAIN], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      DATABASE_URL: databaseUrl,
      REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
      SLIPWAY_BOOTSTRAP_TOKEN: TOKEN,
      SLIPWAY_SECRET_KEY: SECRET_KEY,
      GITHUB_WEBHOOK_SECRET: randomBytes(16).toString("hex"),
      HTTP_PORT: "0",
      GRPC_PORT: "0",
      LOG_LEVEL: "info", // production's default; its lines are read and dropped below
      LEASE_SECONDS: "120",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const grpcPort = await new Promise<number>((resolve, reject) => {
    // Its stdout is read to the end (so the pipe never fills); the ready line names the gRPC port.
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; grpcPort?: number };
        if (entry.msg === "control plane ready" && entry.grpcPort) resolve(entry.grpcPort);
      } catch {
        // not JSON
      }
    });
    child.once("exit", (code) => reject(new Error(`control plane exited with ${code}`)));
  });
  return {
    child,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

// ---- the cost of a claim: CPU from /proc, PostgreSQL's statements from pg_stat_statements --------

const TOP_STATEMENTS = 5;

interface StatementFigures {
  /** Statements executed in the benchmark's database during the phase, and their execution time. */
  calls: number;
  execMs: number;
  /** The most expensive by total execution time. */
  top: { query: string; calls: number; totalMs: number; meanMs: number }[];
}

interface StatementRow {
  query: string;
  calls: number;
  totalMs: number;
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * pg_stat_statements, seen from the benchmark's database if this role may create the extension there
 * (a superuser may), otherwise from the admin database, where deploy/dev/setup.sh installs it (it is
 * not a trusted extension, so the dev stack's slipway role cannot create it). The view is cluster-wide
 * in either place; every figure is filtered on the benchmark's database.
 */
class StatementStats {
  private constructor(
    private readonly client: pg.Client,
    private readonly databaseOid: string,
    /** Where the view was read (reported). */
    readonly source: string,
  ) {}

  /** The statistics, or why there are none. */
  static async open(databaseUrl: string, database: string): Promise<StatementStats | string> {
    let client = new pg.Client({ connectionString: databaseUrl });
    let source = database;
    try {
      await client.connect();
      try {
        await client.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      } catch (error) {
        await client.end();
        source = new URL(ADMIN_URL).pathname.slice(1) || "postgres";
        client = new pg.Client({ connectionString: ADMIN_URL });
        await client.connect();
        const { rowCount } = await client.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'");
        if (!rowCount) {
          await client.end();
          return `the extension is not in database ${source}, and creating it in ${database} failed (${errorMessage(error)}); deploy/dev/setup.sh installs it`;
        }
      }
      // Fails with "pg_stat_statements must be loaded via shared_preload_libraries" until the server
      // has been restarted with it (deploy/dev/setup.sh does that).
      await client.query("SELECT 1 FROM pg_stat_statements LIMIT 1");
      const { rows } = await client.query<{ oid: string }>("SELECT oid::text FROM pg_database WHERE datname = $1", [
        database,
      ]);
      return new StatementStats(client, rows[0]!.oid, source);
    } catch (error) {
      await client.end().catch(() => {});
      return errorMessage(error);
    }
  }

  /** Clears the benchmark database's statistics, then reads what is left (nothing, unless reset was refused). */
  async begin(): Promise<Map<string, StatementRow>> {
    try {
      // Only this database's entries: other work on the cluster keeps its statistics.
      await this.client.query("SELECT pg_stat_statements_reset(0, $1::oid, 0)", [this.databaseOid]);
    } catch (error) {
      // A role without EXECUTE on the reset function: the difference of the two readings still holds.
      console.error(`pg_stat_statements_reset: ${errorMessage(error)}; using the difference of two readings`);
    }
    return this.read();
  }

  /** What the benchmark database's statements cost since `begin`. */
  async end(before: Map<string, StatementRow>): Promise<StatementFigures> {
    const rows: StatementRow[] = [];
    for (const [key, after] of await this.read()) {
      const earlier = before.get(key);
      const calls = after.calls - (earlier?.calls ?? 0);
      if (calls > 0) rows.push({ query: after.query, calls, totalMs: after.totalMs - (earlier?.totalMs ?? 0) });
    }
    rows.sort((a, b) => b.totalMs - a.totalMs);
    return {
      calls: rows.reduce((sum, r) => sum + r.calls, 0),
      execMs: rows.reduce((sum, r) => sum + r.totalMs, 0),
      top: rows.slice(0, TOP_STATEMENTS).map((r) => ({ ...r, meanMs: r.totalMs / r.calls })),
    };
  }

  private async read(): Promise<Map<string, StatementRow>> {
    const { rows } = await this.client.query<{ key: string; query: string; calls: string; total_ms: number }>(
      `SELECT userid || ':' || coalesce(queryid, 0) || ':' || toplevel AS key, query, calls, total_exec_time AS total_ms
       FROM pg_stat_statements
       WHERE dbid = $1::oid AND query NOT LIKE '%pg_stat_statements%'`,
      [this.databaseOid],
    );
    return new Map(rows.map((r) => [r.key, { query: r.query, calls: Number(r.calls), totalMs: r.total_ms }]));
  }

  close(): Promise<void> {
    return this.client.end();
  }
}

/** What one drain phase cost: CPU seconds by process over its wall-clock seconds, and its statements. */
interface DrainCost {
  seconds: number;
  controlPlaneCpuSeconds: number;
  /** This process: the simulated agents (gRPC drain) or the client sending the statements (floor). */
  benchmarkCpuSeconds: number;
  /** Every process named postgres, since pg_stat_statements counts execution only (not parse, plan, protocol). */
  postgresCpuSeconds: number;
  /** Busy CPU of the whole machine that none of the above used: other load on a shared VM. */
  otherCpuSeconds: number;
  statements?: StatementFigures;
}

function cpuReading(controlPlanePid: number) {
  const self = process.cpuUsage();
  return {
    at: performance.now(),
    controlPlane: processUsage(controlPlanePid).cpuSeconds,
    benchmark: (self.user + self.system) / 1e6,
    postgres: postgresTicks(),
    machine: machineBusySeconds(),
  };
}

/** Starts measuring a drain phase; the function returned ends it. */
async function startCost(
  controlPlanePid: number,
  stats: StatementStats | undefined,
): Promise<() => Promise<DrainCost>> {
  const statementsBefore = await stats?.begin();
  const before = cpuReading(controlPlanePid);
  return async () => {
    const after = cpuReading(controlPlanePid);
    const controlPlaneCpuSeconds = after.controlPlane - before.controlPlane;
    const benchmarkCpuSeconds = after.benchmark - before.benchmark;
    const postgresCpuSeconds = postgresSecondsBetween(before.postgres, after.postgres);
    return {
      seconds: (after.at - before.at) / 1000,
      controlPlaneCpuSeconds,
      benchmarkCpuSeconds,
      postgresCpuSeconds,
      otherCpuSeconds: Math.max(
        0,
        after.machine - before.machine - controlPlaneCpuSeconds - benchmarkCpuSeconds - postgresCpuSeconds,
      ),
      statements: statementsBefore && (await stats!.end(statementsBefore)),
    };
  };
}

// ---- simulated agents -------------------------------------------------------------------------

/**
 * Before a drain is measured: the dead rows an earlier phase left (the floor drains the same
 * table first) are vacuumed and the statistics fresh, so that both drains start alike instead of
 * the second paying for the first's clean-up when autovacuum happens to wake during it.
 */
async function settleTables(db: pg.Pool): Promise<void> {
  await db.query("VACUUM (ANALYZE) builds, build_status_history");
}

async function queueBuilds(db: pg.Pool, serviceId: string, count: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `WITH b AS (
       INSERT INTO builds (service_id, commit_sha, branch, trigger)
       SELECT $1, md5(random()::text) || left(md5(random()::text), 8), 'main', 'manual' FROM generate_series(1, $2)
       RETURNING id
     ), h AS (
       INSERT INTO build_status_history (build_id, to_status, actor) SELECT id, 'pending', 'bench' FROM b
     )
     SELECT id FROM b`,
    [serviceId, count],
  );
  await db.query(`SELECT pg_notify('slipway_work', 'build')`);
  return rows.map((r) => r.id);
}

// ---- the three measurements --------------------------------------------------------------------

async function dispatch(
  address: string,
  db: pg.Pool,
  ca: AgentCa,
  serviceId: string,
  agentCount: number,
  builds: number,
) {
  const agents = (await enrolAgents(db, ca, agentCount, `dispatch${agentCount}`)).map(
    (a) => new SimulatedAgent(address, a.id, a.tls),
  );
  const queuedAt = new Map<string, number>();
  const latencies: number[] = [];
  let onClaimed: (() => void) | undefined;
  const tryClaim = async (agent: SimulatedAgent) => {
    const work = await agent.claim().catch(() => undefined);
    if (!work?.ref) return;
    const started = queuedAt.get(work.ref.id);
    if (started !== undefined) latencies.push(performance.now() - started);
    await agent.finish(work.ref);
    onClaimed?.();
  };
  const closers = agents.map((agent) => agent.session(() => void tryClaim(agent)));
  // Let every stream open (each sends its connect-time hints) before measuring.
  await new Promise((resolve) => setTimeout(resolve, 500 + agentCount * 5));
  for (let i = 0; i < builds; i++) {
    const claimed = new Promise<void>((resolve) => (onClaimed = resolve));
    const client = await db.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO builds (service_id, commit_sha, branch, trigger)
         VALUES ($1, md5(random()::text) || left(md5(random()::text), 8), 'main', 'manual') RETURNING id`,
        [serviceId],
      );
      queuedAt.set(rows[0]!.id, performance.now());
      await client.query(`SELECT pg_notify('slipway_work', 'build')`);
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    await claimed;
  }
  closers.forEach((close) => close());
  agents.forEach((agent) => agent.close());
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), count: latencies.length };
}

/** The floor for dispatch: a NOTIFY committed → a LISTEN connection hears it. */
async function notifyRoundTrip(databaseUrl: string, db: pg.Pool, count: number) {
  const listener = new pg.Client({ connectionString: databaseUrl });
  await listener.connect();
  await listener.query("LISTEN bench_floor");
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const heard = new Promise<void>((resolve) => listener.once("notification", () => resolve()));
    const started = performance.now();
    await db.query("SELECT pg_notify('bench_floor', 'x')");
    await heard;
    latencies.push(performance.now() - started);
  }
  await listener.end();
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function drain(
  address: string,
  db: pg.Pool,
  ca: AgentCa,
  serviceId: string,
  agentCount: number,
  builds: number,
  startMeasuring: () => Promise<() => Promise<DrainCost>>,
) {
  const ids = await queueBuilds(db, serviceId, builds);
  const agents = (await enrolAgents(db, ca, agentCount, "drain")).map((a) => new SimulatedAgent(address, a.id, a.tls));
  await settleTables(db);
  const claimedIds: string[] = [];
  // Measured from here: queueing and enrolment are not claims.
  const stopMeasuring = await startMeasuring();
  const started = performance.now();
  await Promise.all(
    agents.map(async (agent) => {
      for (;;) {
        const work = await agent.claim();
        if (!work?.ref) return;
        claimedIds.push(work.ref.id);
        await agent.finish(work.ref);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cost = await stopMeasuring();
  agents.forEach((agent) => agent.close());
  const { rows } = await db.query<{ bad: string; claims: string }>(
    `SELECT count(*) FILTER (WHERE status <> 'failed' OR attempt <> 1) AS bad,
            (SELECT count(*) FROM build_status_history h WHERE h.build_id = ANY($1) AND h.to_status = 'claimed') AS claims
     FROM builds WHERE id = ANY($1)`,
    [ids],
  );
  const unique = new Set(claimedIds).size;
  const claimedTransitions = Number(rows[0]?.claims);
  const notExactlyOnce = Number(rows[0]?.bad);
  return {
    claims: claimedIds.length,
    claimsPerSecond: claimedIds.length / seconds,
    distinct: unique,
    claimedTransitions,
    notExactlyOnce,
    exactlyOnce:
      claimedIds.length === builds && unique === builds && notExactlyOnce === 0 && claimedTransitions === builds,
    detail: `${claimedIds.length} claims of ${builds} builds, ${unique} distinct; ${claimedTransitions} claimed transitions; ${notExactlyOnce} builds not claimed exactly once`,
    cost,
  };
}

/**
 * The floor for drain: the very statements the Claim and Complete handlers run (the work core's
 * claimWork and finishWork, one claim per statement), straight to PostgreSQL by as many agents,
 * through a pool the size of the control plane's (createDatabase's default).
 */
async function directDrain(
  databaseUrl: string,
  ca: AgentCa,
  serviceId: string,
  agentCount: number,
  builds: number,
  startMeasuring: () => Promise<() => Promise<DrainCost>>,
) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const db = createDatabase(databaseUrl);
  await queueBuilds(pool, serviceId, builds);
  const agents = await enrolAgents(pool, ca, agentCount, "floor");
  await settleTables(pool);
  let claims = 0;
  const stopMeasuring = await startMeasuring();
  const started = performance.now();
  await Promise.all(
    agents.map(async ({ id: agentId }) => {
      for (;;) {
        const [build] = await claimWork(db, BUILD_TABLE, [{ agentId, claimKey: randomUUID() }], 120, [
          BUILD_TABLE,
          DEPLOY_TABLE,
        ]);
        if (!build) return;
        claims++;
        await finishWork(db, BUILD_TABLE, [
          {
            lease: { id: build.id, leaseToken: build.lease_token as string, agentId },
            ending: { status: "failed", reason: "benchmark" },
          },
        ]);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cost = await stopMeasuring();
  await db.destroy();
  await pool.end();
  return { claims, claimsPerSecond: claims / seconds, cost };
}

async function heartbeats(
  address: string,
  db: pg.Pool,
  ca: AgentCa,
  serviceId: string,
  cp: ChildProcess,
  agentCount: number,
  seconds: number,
  intervalSeconds: number,
) {
  const measure = async () => {
    const before = processUsage(cp.pid!);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const after = processUsage(cp.pid!);
    return { cpuPercent: ((after.cpuSeconds - before.cpuSeconds) / seconds) * 100, rssMb: after.rssBytes / 2 ** 20 };
  };
  const idle = await measure();

  await queueBuilds(db, serviceId, agentCount);
  const agents = (await enrolAgents(db, ca, agentCount, "beat")).map((a) => new SimulatedAgent(address, a.id, a.tls));
  const closers = agents.map((agent) => agent.session(() => {}));
  const held = new Map<SimulatedAgent, WorkRef>();
  for (const agent of agents) {
    const work = await agent.claim();
    if (work?.ref) held.set(agent, work.ref);
  }
  // Heartbeats every interval, spread evenly as independent agents' timers would be.
  const interval = intervalSeconds * 1000;
  const timers = agents.map((agent, i) =>
    setTimeout(
      () => {
        const beat = () => void agent.heartbeat(held.has(agent) ? [held.get(agent)!] : []).catch(() => {});
        beat();
        timers[i] = setInterval(beat, interval) as unknown as NodeJS.Timeout;
      },
      (i / agentCount) * interval,
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, interval)); // every agent beat at least once
  const loaded = await measure();
  timers.forEach((t) => clearInterval(t));
  closers.forEach((close) => close());
  agents.forEach((agent) => agent.close());
  return { idle, loaded, leases: held.size };
}

// ---- main ---------------------------------------------------------------------------------

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
/** A statement on one Markdown table line. */
const shorten = (query: string) => {
  const flat = query.replace(/\s+/g, " ").trim();
  return (flat.length > 100 ? `${flat.slice(0, 99)}…` : flat).replace(/\|/g, "\\|");
};

/** A drain's cost divided by its claims (µs of CPU or execution time, and statements). */
function perClaim(cost: DrainCost, claims: number) {
  return {
    controlPlaneCpuUs: (cost.controlPlaneCpuSeconds * 1e6) / claims,
    postgresCpuUs: (cost.postgresCpuSeconds * 1e6) / claims,
    benchmarkCpuUs: (cost.benchmarkCpuSeconds * 1e6) / claims,
    statements: cost.statements ? cost.statements.calls / claims : NaN,
    postgresExecUs: cost.statements ? (cost.statements.execMs * 1e3) / claims : NaN,
  };
}

async function main(): Promise<void> {
  const database = `slipway_bench_${randomBytes(6).toString("hex")}`;
  await admin(`CREATE DATABASE ${database}`);
  // Named, so that whoever stops a run half-way (or a test that times out) can drop it.
  console.error(`database ${database} (dropped at the end)`);
  const databaseUrl = urlFor(database);
  const migrator = createDatabase(databaseUrl, { max: 1 });
  await migrateToLatest(migrator);
  await migrator.destroy();
  const db = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const cp = await startControlPlane(databaseUrl);
  const caDb = createDatabase(databaseUrl, { max: 1 });
  let stats: StatementStats | string = "not opened";
  try {
    stats = await StatementStats.open(databaseUrl, database);
    const ca = await loadAgentCa(caDb, SECRET_KEY);
    const { rows } = await db.query<{ id: string }>(
      `WITH p AS (INSERT INTO projects (org_id, name) VALUES ($1, 'bench') RETURNING id)
       INSERT INTO services (project_id, name, git_url, branch, container_port, ingress_label)
       SELECT id, 'bench', 'https://example.invalid/bench.git', 'main', 8080, 'bench' FROM p RETURNING id`,
      [ORG],
    );
    const serviceId = rows[0]!.id;
    const out = (line: string) => console.error(line);

    const dispatchBuilds = Number(args["dispatch-builds"]);
    const floor = await notifyRoundTrip(databaseUrl, db, dispatchBuilds);
    out(`dispatch floor (NOTIFY round trip): p50 ${ms(floor.p50)}, p99 ${ms(floor.p99)}`);
    const dispatchRuns: { agents: number; p50: number; p99: number; builds: number }[] = [];
    for (const agents of [1, 10, 100]) {
      const result = await dispatch(cp.grpcAddress, db, ca, serviceId, agents, dispatchBuilds);
      out(`dispatch with ${agents} agents: p50 ${ms(result.p50)}, p99 ${ms(result.p99)} (${result.count} builds)`);
      dispatchRuns.push({ agents, p50: result.p50, p99: result.p99, builds: result.count });
    }

    const drainBuilds = Number(args["drain-builds"]);
    const drainAgents = Number(args["drain-agents"]);
    const statements = typeof stats === "string" ? undefined : stats;
    if (!statements) out(`no PostgreSQL statement figures: pg_stat_statements is unavailable: ${stats}`);
    const startMeasuring = () => startCost(cp.child.pid!, statements);
    const costLine = (cost: DrainCost, claims: number) => {
      const c = perClaim(cost, claims);
      return (
        `control plane ${int(c.controlPlaneCpuUs)} µs CPU/claim, PostgreSQL ${int(c.postgresCpuUs)} µs CPU/claim` +
        (cost.statements ? `, ${fmt(c.statements)} statements/claim, ${int(c.postgresExecUs)} µs executing/claim` : "")
      );
    };
    const direct = await directDrain(databaseUrl, ca, serviceId, drainAgents, drainBuilds, startMeasuring);
    out(
      `drain floor (the same statements straight to PostgreSQL, ${drainAgents} agents): ${direct.claimsPerSecond.toFixed(0)} claims/s; ${costLine(direct.cost, direct.claims)}`,
    );
    const drained = await drain(cp.grpcAddress, db, ca, serviceId, drainAgents, drainBuilds, startMeasuring);
    out(
      `drain through gRPC (${drainAgents} agents): ${drained.claimsPerSecond.toFixed(0)} claims/s; ${drained.detail}; ${costLine(drained.cost, drained.claims)}`,
    );

    const heartbeatAgents = Number(args["heartbeat-agents"]);
    const heartbeatInterval = Number(args["heartbeat-interval"]);
    const beats = await heartbeats(
      cp.grpcAddress,
      db,
      ca,
      serviceId,
      cp.child,
      heartbeatAgents,
      Number(args["heartbeat-seconds"]),
      heartbeatInterval,
    );
    out(
      `heartbeat: idle ${beats.idle.cpuPercent.toFixed(1)}% CPU, ${beats.idle.rssMb.toFixed(0)} MB; with ${heartbeatAgents} agents (${beats.leases} leases) ${beats.loaded.cpuPercent.toFixed(1)}% CPU, ${beats.loaded.rssMb.toFixed(0)} MB`,
    );

    console.log(`Agent channel benchmark, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC\n`);
    console.log("Dispatch latency (build inserted with its NOTIFY → an idle agent holds the claim):\n");
    console.log(
      "| connected agents | p50 | p99 | floor: NOTIFY round trip p50 / p99 | target p50 < 5 ms, p99 < 25 ms |",
    );
    console.log("| ---: | ---: | ---: | ---: | --- |");
    for (const run of dispatchRuns) {
      console.log(
        `| ${run.agents} | ${ms(run.p50)} | ${ms(run.p99)} | ${ms(floor.p50)} / ${ms(floor.p99)} | ${run.p50 < 5 && run.p99 < 25 ? "PASS" : "FAIL"} |`,
      );
    }

    console.log(`\nDrain: ${drainBuilds} queued builds, ${drainAgents} agents:\n`);
    console.log(
      "| path | claims/s | control-plane CPU µs/claim | PostgreSQL CPU µs/claim | PostgreSQL statements/claim | PostgreSQL execution µs/claim | benchmark process CPU µs/claim | exactly once | target ≥ 1,000 claims/s and ≥ 0.7 × the floor |",
    );
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |");
    const costColumns = (cost: DrainCost, claims: number) => {
      const c = perClaim(cost, claims);
      return `${int(c.controlPlaneCpuUs)} | ${int(c.postgresCpuUs)} | ${fmt(c.statements)} | ${int(c.postgresExecUs)} | ${int(c.benchmarkCpuUs)}`;
    };
    console.log(
      `| floor: the same claim and finish statements straight to PostgreSQL | ${direct.claimsPerSecond.toFixed(0)} | ${costColumns(direct.cost, direct.claims)} | n/a | baseline |`,
    );
    console.log(
      `| through gRPC (Claim + Complete) | ${drained.claimsPerSecond.toFixed(0)} (${(drained.claimsPerSecond / direct.claimsPerSecond).toFixed(2)} × the floor) | ${costColumns(drained.cost, drained.claims)} | ${drained.exactlyOnce ? "PASS" : "FAIL"}: ${drained.detail} | ${drained.claimsPerSecond >= 1000 && drained.claimsPerSecond >= 0.7 * direct.claimsPerSecond ? "PASS" : "FAIL"} |`,
    );
    console.log(
      "\nCPU from /proc: the control plane's process (on the floor it only idles: reaper, timers); every " +
        "`postgres` process (utime + stime: parsing, planning and the protocol too); this process (the " +
        "simulated agents through gRPC, the statements' client on the floor).",
    );
    if (typeof stats === "string") {
      console.log(`No PostgreSQL statement figures (–): pg_stat_statements is unavailable: ${stats}.`);
    } else {
      console.log(
        `Statements and their execution time: pg_stat_statements for the benchmark's database (read in database ${stats.source}), reset before each drain.`,
      );
      for (const [name, result] of [
        ["floor", direct],
        ["through gRPC", drained],
      ] as const) {
        console.log(
          `\nTop ${TOP_STATEMENTS} statements by total execution time, ${name} (${int(result.claims)} claims):\n`,
        );
        console.log("| statement | calls | calls/claim | total ms | mean ms |");
        console.log("| --- | ---: | ---: | ---: | ---: |");
        for (const top of result.cost.statements?.top ?? []) {
          console.log(
            `| \`${shorten(top.query)}\` | ${int(top.calls)} | ${fmt(top.calls / result.claims, 2)} | ${fmt(top.totalMs)} | ${fmt(top.meanMs, 3)} |`,
          );
        }
      }
    }
    for (const [name, cost] of [
      ["floor", direct.cost],
      ["gRPC drain", drained.cost],
    ] as const) {
      const other = cost.otherCpuSeconds / cost.seconds;
      if (other > 0.25) {
        console.log(
          `\nOther processes used ${Math.round(other * 100)} % of a core during the ${name}: its figures are ` +
            "disturbed; compare ratios, or run again on a quieter machine.",
        );
      }
    }

    console.log(
      `\nHeartbeats: ${heartbeatAgents} agents, each with a session stream and one lease, a heartbeat every ${heartbeatInterval} s:\n`,
    );
    console.log("| control plane | CPU (% of one core) | RSS | target < 25 %, < 300 MB |");
    console.log("| --- | ---: | ---: | --- |");
    console.log(
      `| idle, no agent (baseline) | ${beats.idle.cpuPercent.toFixed(1)} % | ${beats.idle.rssMb.toFixed(0)} MB | |`,
    );
    console.log(
      `| ${heartbeatAgents} agents | ${beats.loaded.cpuPercent.toFixed(1)} % | ${beats.loaded.rssMb.toFixed(0)} MB | ${beats.loaded.cpuPercent < 25 && beats.loaded.rssMb < 300 ? "PASS" : "FAIL"} |`,
    );

    if (args.json) {
      const summary = <T extends { claims: number; cost: DrainCost }>(result: T) => ({
        ...result,
        perClaim: perClaim(result.cost, result.claims),
      });
      writeFileSync(
        args.json,
        JSON.stringify(
          {
            options: {
              dispatchBuilds,
              drainBuilds,
              drainAgents,
              heartbeatAgents,
              heartbeatSeconds: Number(args["heartbeat-seconds"]),
              heartbeatIntervalSeconds: heartbeatInterval,
            },
            dispatch: { notifyRoundTrip: floor, runs: dispatchRuns },
            drain: {
              statements:
                typeof stats === "string"
                  ? { available: false, reason: stats }
                  : { available: true, source: stats.source },
              floor: summary(direct),
              grpc: summary(drained),
            },
            heartbeat: { agents: heartbeatAgents, intervalSeconds: heartbeatInterval, ...beats },
          },
          null,
          2,
        ),
      );
    }
  } finally {
    if (typeof stats !== "string") await stats.close();
    await caDb.destroy();
    await cp.stop();
    await db.end();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
