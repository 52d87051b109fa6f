// Benchmark: the agent channel. A real control plane runs as its own process on a fresh database;
// this process plays the agents (real gRPC clients, one connection each). Three measurements, each
// beside a baseline taken in the same run:
//
//   dispatch   build inserted (with its NOTIFY, as a webhook does) → an idle agent holds the claim,
//              with 1, 10 and 100 connected agents; baseline: the bare NOTIFY round trip.
//   drain      10,000 queued builds claimed and completed by 50 agents: claims/s, and exactly-once
//              verified row by row; baseline: the same claim statement run directly on 50 connections.
//   heartbeat  1,000 agents, each with a session stream and one lease, heartbeating every 10 s: the
//              control plane's CPU and RSS; baseline: the same control plane with no agent connected.
//
//   bench/run.sh agent-channel [--dispatch-builds 200] [--drain-builds 10000] [--heartbeat-agents 1000]
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
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
import type { WorkRef } from "@slipway/proto";

const { values: args } = parseArgs({
  options: {
    "dispatch-builds": { type: "string", default: "200" },
    "drain-builds": { type: "string", default: "10000" },
    "drain-agents": { type: "string", default: "50" },
    "heartbeat-agents": { type: "string", default: "1000" },
    "heartbeat-seconds": { type: "string", default: "30" },
  },
});

const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? "postgres://slipway:slipway@127.0.0.1:5432/postgres";
const CONTROL_PLANE_MAIN = fileURLToPath(new URL("../../control-plane/dist/main.js", import.meta.url));
const TOKEN = randomBytes(32).toString("hex");
const SECRET_KEY = randomBytes(32).toString("base64");
const ORG = "00000000-0000-4000-8000-000000000001";

// ---- helpers --------------------------------------------------------------------------------

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const ms = (value: number) => `${value.toFixed(1)} ms`;

async function admin(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** CPU seconds (user + system) and RSS bytes of a process, from /proc. */
function processUsage(pid: number): { cpuSeconds: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssPages = Number(fields[21]);
  return { cpuSeconds: ticks / 100, rssBytes: rssPages * 4096 };
}

interface ControlPlane {
  child: ChildProcess;
  grpcAddress: string;
  stop(): Promise<void>;
}

async function startControlPlane(databaseUrl: string): Promise<ControlPlane> {
  const child = spawn(process.execPath, [CONTROL_PLANE_MAIN], {
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

// ---- simulated agents -------------------------------------------------------------------------

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

async function drain(address: string, db: pg.Pool, ca: AgentCa, serviceId: string, agentCount: number, builds: number) {
  const ids = await queueBuilds(db, serviceId, builds);
  const agents = (await enrolAgents(db, ca, agentCount, "drain")).map((a) => new SimulatedAgent(address, a.id, a.tls));
  const claimedIds: string[] = [];
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
  agents.forEach((agent) => agent.close());
  const { rows } = await db.query<{ bad: string; claims: string }>(
    `SELECT count(*) FILTER (WHERE status <> 'failed' OR attempt <> 1) AS bad,
            (SELECT count(*) FROM build_status_history h WHERE h.build_id = ANY($1) AND h.to_status = 'claimed') AS claims
     FROM builds WHERE id = ANY($1)`,
    [ids],
  );
  const unique = new Set(claimedIds).size;
  return {
    claimsPerSecond: claimedIds.length / seconds,
    exactlyOnce:
      claimedIds.length === builds && unique === builds && rows[0]?.bad === "0" && rows[0]?.claims === String(builds),
    detail: `${claimedIds.length} claims of ${builds} builds, ${unique} distinct; ${rows[0]?.claims} claimed transitions; ${rows[0]?.bad} builds not claimed exactly once`,
  };
}

/**
 * The floor for drain: the very statements the Claim and Complete handlers run (the work core's
 * claimWork and finishWork, one claim per statement), straight to PostgreSQL by as many agents,
 * through a pool the size of the control plane's (createDatabase's default).
 */
async function directDrain(databaseUrl: string, ca: AgentCa, serviceId: string, agentCount: number, builds: number) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const db = createDatabase(databaseUrl);
  await queueBuilds(pool, serviceId, builds);
  const agents = await enrolAgents(pool, ca, agentCount, "floor");
  let claims = 0;
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
        await finishWork(
          db,
          BUILD_TABLE,
          { id: build.id, leaseToken: build.lease_token as string, agentId },
          { status: "failed", reason: "benchmark" },
        );
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await db.destroy();
  await pool.end();
  return { claimsPerSecond: claims / seconds };
}

async function heartbeats(
  address: string,
  db: pg.Pool,
  ca: AgentCa,
  serviceId: string,
  cp: ChildProcess,
  agentCount: number,
  seconds: number,
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
  // Heartbeats every 10 s, spread evenly as independent agents' timers would be.
  const timers = agents.map((agent, i) =>
    setTimeout(
      () => {
        const beat = () => void agent.heartbeat(held.has(agent) ? [held.get(agent)!] : []).catch(() => {});
        beat();
        timers[i] = setInterval(beat, 10_000) as unknown as NodeJS.Timeout;
      },
      (i / agentCount) * 10_000,
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 10_000)); // every agent beat at least once
  const loaded = await measure();
  timers.forEach((t) => clearInterval(t));
  closers.forEach((close) => close());
  agents.forEach((agent) => agent.close());
  return { idle, loaded, leases: held.size };
}

// ---- main ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  const database = `slipway_bench_${randomBytes(6).toString("hex")}`;
  await admin(`CREATE DATABASE ${database}`);
  const databaseUrl = urlFor(database);
  const migrator = createDatabase(databaseUrl, { max: 1 });
  await migrateToLatest(migrator);
  await migrator.destroy();
  const db = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const cp = await startControlPlane(databaseUrl);
  const caDb = createDatabase(databaseUrl, { max: 1 });
  try {
    const ca = await loadAgentCa(caDb, SECRET_KEY);
    const { rows } = await db.query<{ id: string }>(
      `WITH p AS (INSERT INTO projects (org_id, name) VALUES ($1, 'bench') RETURNING id)
       INSERT INTO services (project_id, name, git_url, branch, container_port)
       SELECT id, 'bench', 'https://example.invalid/bench.git', 'main', 8080 FROM p RETURNING id`,
      [ORG],
    );
    const serviceId = rows[0]!.id;
    const lines: string[] = [];
    const out = (line: string) => {
      lines.push(line);
      console.error(line);
    };

    const dispatchBuilds = Number(args["dispatch-builds"]);
    const floor = await notifyRoundTrip(databaseUrl, db, dispatchBuilds);
    out(`dispatch floor (NOTIFY round trip): p50 ${ms(floor.p50)}, p99 ${ms(floor.p99)}`);
    const dispatchRows: string[] = [];
    for (const agents of [1, 10, 100]) {
      const result = await dispatch(cp.grpcAddress, db, ca, serviceId, agents, dispatchBuilds);
      out(`dispatch with ${agents} agents: p50 ${ms(result.p50)}, p99 ${ms(result.p99)} (${result.count} builds)`);
      dispatchRows.push(
        `| ${agents} | ${ms(result.p50)} | ${ms(result.p99)} | ${ms(floor.p50)} / ${ms(floor.p99)} | ${result.p50 < 20 && result.p99 < 100 ? "PASS" : "FAIL"} |`,
      );
    }

    const drainBuilds = Number(args["drain-builds"]);
    const drainAgents = Number(args["drain-agents"]);
    const direct = await directDrain(databaseUrl, ca, serviceId, drainAgents, drainBuilds);
    out(
      `drain floor (the same statements straight to PostgreSQL, ${drainAgents} agents): ${direct.claimsPerSecond.toFixed(0)} claims/s`,
    );
    const drained = await drain(cp.grpcAddress, db, ca, serviceId, drainAgents, drainBuilds);
    out(
      `drain through gRPC (${drainAgents} agents): ${drained.claimsPerSecond.toFixed(0)} claims/s; ${drained.detail}`,
    );

    const beats = await heartbeats(
      cp.grpcAddress,
      db,
      ca,
      serviceId,
      cp.child,
      Number(args["heartbeat-agents"]),
      Number(args["heartbeat-seconds"]),
    );
    out(
      `heartbeat: idle ${beats.idle.cpuPercent.toFixed(1)}% CPU, ${beats.idle.rssMb.toFixed(0)} MB; with ${args["heartbeat-agents"]} agents (${beats.leases} leases) ${beats.loaded.cpuPercent.toFixed(1)}% CPU, ${beats.loaded.rssMb.toFixed(0)} MB`,
    );

    console.log(`Agent channel benchmark, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC\n`);
    console.log("Dispatch latency (build inserted with its NOTIFY → an idle agent holds the claim):\n");
    console.log(
      "| connected agents | p50 | p99 | floor: NOTIFY round trip p50 / p99 | target p50 < 20 ms, p99 < 100 ms |",
    );
    console.log("| ---: | ---: | ---: | ---: | --- |");
    for (const row of dispatchRows) console.log(row);
    console.log(`\nDrain: ${drainBuilds} queued builds, ${drainAgents} agents:\n`);
    console.log("| path | claims/s | exactly once |");
    console.log("| --- | ---: | --- |");
    console.log(
      `| floor: the same claim and finish statements straight to PostgreSQL | ${direct.claimsPerSecond.toFixed(0)} | n/a |`,
    );
    console.log(
      `| through gRPC (Claim + Complete) | ${drained.claimsPerSecond.toFixed(0)} (${(drained.claimsPerSecond / direct.claimsPerSecond).toFixed(2)} × the floor) | ${drained.exactlyOnce ? "PASS" : "FAIL"}: ${drained.detail} |`,
    );
    console.log(
      `\nHeartbeats: ${args["heartbeat-agents"]} agents, each with a session stream and one lease, a heartbeat every 10 s:\n`,
    );
    console.log("| control plane | CPU (% of one core) | RSS | target < 25 %, < 300 MB |");
    console.log("| --- | ---: | ---: | --- |");
    console.log(
      `| idle, no agent (baseline) | ${beats.idle.cpuPercent.toFixed(1)} % | ${beats.idle.rssMb.toFixed(0)} MB | |`,
    );
    console.log(
      `| ${args["heartbeat-agents"]} agents | ${beats.loaded.cpuPercent.toFixed(1)} % | ${beats.loaded.rssMb.toFixed(0)} MB | ${beats.loaded.cpuPercent < 25 && beats.loaded.rssMb < 300 ? "PASS" : "FAIL"} |`,
    );
  } finally {
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
