// A short mode of every benchmark, run as bench/README.md runs them (bench/run.sh from the repository
// root, after `pnpm build`), so that a benchmark can no longer break unnoticed: each must exit 0, print
// every row its README tables are made of, with figures in it, and pass its correctness checks.
// The figures themselves are not asserted: on a shared 2-core machine they are for the README.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_URL, dropDatabase } from "../test-support/database.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Benchmarks still running, and the databases they announced (each drops its own when it ends). */
const running = new Set<ChildProcess>();
const databases = new Set<string>();

function runBenchmark(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    // A process group of its own (detached), so that a test that fails or times out can stop the
    // benchmark together with what it started (the load generator, a control plane).
    const child = spawn("bench/run.sh", args, {
      cwd: ROOT,
      env: { ...process.env, BENCH_DATABASE_ADMIN_URL: ADMIN_URL },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      for (const [, name] of stderr.matchAll(/^database (slipway_bench_\w+) /gm)) databases.add(name!);
    });
    child.once("error", reject);
    // "close": the output is complete, and nothing the benchmark started still holds its pipes.
    child.once("close", (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return (await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

/** The one database a run announced. */
function databaseOf(run: Run): string {
  const names = [...run.stderr.matchAll(/^database (slipway_bench_\w+) /gm)].map((m) => m[1]!);
  expect(names).toHaveLength(1);
  return names[0]!;
}

// Figures as the reports print them: a number, never "–" (NaN) or empty.
const N = String.raw`\d[\d,]*(?:\.\d+)?`;
const MS = `${N} ms`;
const row = (...cells: string[]) => new RegExp(`^\\| ${cells.join(" \\| ")} \\|$`, "m");

describe("benchmarks, short mode", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "slipway-bench-"));
  });

  afterEach(async () => {
    // Only after a failure or a timeout is anything left: stop it, and drop what it could not.
    for (const child of running) {
      const closed = new Promise((resolve) => child.once("close", resolve));
      process.kill(-child.pid!, "SIGKILL");
      await closed;
    }
    for (const name of databases) await dropDatabase(name);
    databases.clear();
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("webhooks: exits 0, prints the floor, webhook and target rows, and every delivery made exactly one build", async () => {
    const json = join(dir, "webhooks.json");
    const run = await runBenchmark([
      "webhooks",
      ...["--duration", "1", "--warmup", "1", "--rounds", "1", "--connections", "4", "--pool", "5000"],
      ...["--json", json],
    ]);
    expect(run.code, run.stderr).toBe(0);

    // The rows bench/README.md's tables and the README's figures come from.
    const measured = [`${N} \\(${N}\\)`, N, N, "0", N, N, N];
    expect(run.stdout).toMatch(row("floor \\(1 INSERT\\)", ...measured));
    expect(run.stdout).toMatch(row("\\*\\*webhook\\*\\*", ...measured));
    expect(run.stdout).toMatch(row("≥ 1,000 webhooks/s", `${N}/s`, "(PASS|FAIL)"));
    expect(run.stdout).toMatch(row("p99 < 50 ms", MS, "(PASS|FAIL)"));
    expect(run.stdout).toMatch(row("≥ 0.5 × the floor's throughput", `${N} ×`, "(PASS|FAIL)"));
    expect(run.stdout).toMatch(row("exactly one build per delivery", `${N} deliveries, ${N} builds; .*`, "PASS"));

    const result = JSON.parse(await readFile(json, "utf8")) as {
      exactlyOncePass: boolean;
      exactlyOnce: { deliveries: number; builds: number; notExactlyOne: number; orphans: number; duplicates: number };
      phases: { target: string; round: number; load: { responses: number; non2xx: number } }[];
    };
    expect(result.exactlyOncePass).toBe(true);
    expect(result.exactlyOnce.deliveries).toBeGreaterThan(0);
    expect(result.exactlyOnce).toMatchObject({
      builds: result.exactlyOnce.deliveries,
      notExactlyOne: 0,
      orphans: 0,
      duplicates: 0,
    });
    // Both targets were measured, and answered every request with a 2xx.
    const rounds = result.phases.filter((p) => p.round > 0);
    expect(rounds.map((p) => p.target).sort()).toEqual(["floor", "webhook"]);
    for (const phase of rounds) expect(phase.load).toMatchObject({ non2xx: 0, responses: expect.any(Number) });
    expect(rounds.every((p) => p.load.responses > 0)).toBe(true);

    expect(await databaseExists(databaseOf(run))).toBe(false);
  }, 120_000);

  it("agent-channel: exits 0, prints dispatch, drain (with its cost per claim) and heartbeat rows, and drains exactly once", async () => {
    const json = join(dir, "agent-channel.json");
    const run = await runBenchmark([
      "agent-channel",
      ...["--dispatch-builds", "5", "--drain-builds", "200", "--drain-agents", "5"],
      ...["--heartbeat-agents", "20", "--heartbeat-seconds", "1", "--heartbeat-interval", "1"],
      ...["--json", json],
    ]);
    expect(run.code, run.stderr).toBe(0);

    for (const agents of [1, 10, 100]) {
      expect(run.stdout).toMatch(row(String(agents), MS, MS, `${MS} / ${MS}`, "(PASS|FAIL)"));
    }
    // claims/s, then per claim: control-plane CPU, PostgreSQL CPU, statements, execution, this process's CPU.
    const cost = [N, N, N, N, N];
    expect(run.stdout).toMatch(
      row("floor: the same claim and finish statements straight to PostgreSQL", N, ...cost, "n/a", "baseline"),
    );
    expect(run.stdout).toMatch(
      row(
        "through gRPC \\(Claim \\+ Complete\\)",
        `${N} \\(${N} × the floor\\)`,
        ...cost,
        "PASS: 200 claims of 200 builds, 200 distinct; 200 claimed transitions; 0 builds not claimed exactly once",
        "(PASS|FAIL)",
      ),
    );
    for (const path of ["floor", "through gRPC"]) {
      expect(run.stdout).toContain(`Top 5 statements by total execution time, ${path} (200 claims):`);
    }
    expect(run.stdout).toMatch(new RegExp(`^\\| idle, no agent \\(baseline\\) \\| ${N} % \\| ${N} MB \\| \\|$`, "m"));
    expect(run.stdout).toMatch(row("20 agents", `${N} %`, `${N} MB`, "(PASS|FAIL)"));

    interface Drained {
      claims: number;
      perClaim: Record<string, number | null>;
      cost: { statements?: { calls: number; top: { query: string; calls: number }[] } };
    }
    const result = JSON.parse(await readFile(json, "utf8")) as {
      dispatch: { runs: { agents: number; builds: number }[] };
      drain: {
        statements: { available: boolean; reason?: string };
        floor: Drained;
        grpc: Drained & { exactlyOnce: boolean; distinct: number; claimedTransitions: number; notExactlyOnce: number };
      };
      heartbeat: { agents: number; leases: number };
    };
    expect(result.dispatch.runs).toEqual([
      expect.objectContaining({ agents: 1, builds: 5 }),
      expect.objectContaining({ agents: 10, builds: 5 }),
      expect.objectContaining({ agents: 100, builds: 5 }),
    ]);
    // Every queued build claimed once, by exactly one agent, through gRPC; the floor drained them all too.
    expect(result.drain.grpc).toMatchObject({
      exactlyOnce: true,
      claims: 200,
      distinct: 200,
      claimedTransitions: 200,
      notExactlyOnce: 0,
    });
    expect(result.drain.floor.claims).toBe(200);
    // deploy/dev/setup.sh preloads pg_stat_statements: every cost-per-claim figure is there on both
    // paths, with the statements behind it (how many per claim is the control plane's business).
    expect(result.drain.statements, result.drain.statements.reason).toMatchObject({ available: true });
    for (const drained of [result.drain.floor, result.drain.grpc]) {
      for (const figure of Object.values(drained.perClaim)) expect(figure).toEqual(expect.any(Number));
      expect(drained.cost.statements!.calls).toBeGreaterThan(0);
      expect(drained.cost.statements!.top.length).toBeGreaterThan(0);
    }
    expect(result.heartbeat).toEqual(expect.objectContaining({ agents: 20, leases: 20 }));

    expect(await databaseExists(databaseOf(run))).toBe(false);
  }, 120_000);
  it("rollouts: exits 0, prints each rollout beside podman run and push-to-live beside the plain script", async () => {
    const json = join(dir, "rollouts.json");
    const run = await runBenchmark([
      "rollouts",
      ...["--replicas", "1", "--rounds", "1", "--push-rounds", "1"],
      ...["--json", json],
    ]);
    expect(run.code, run.stderr).toBe(0);

    const S = `-?${N} s`;
    for (const image of ["on the host", "pulled"]) {
      expect(run.stdout).toMatch(row("1", image, S, S, S, S, "(PASS|FAIL)"));
    }
    expect(run.stdout).toMatch(row("plain script: clone \\+ build \\+ push \\+ run \\+ health wait", S, S, "baseline"));
    expect(run.stdout).toMatch(
      row(
        "Slipway: signed webhook → new version at the stable URL",
        `${S} \\(${N} × the script\\)`,
        S,
        "< 2 × the script: (PASS|FAIL)",
      ),
    );
    const result = JSON.parse(await readFile(json, "utf8")) as {
      rollouts: { replicas: number; image: string; baselineMs: number[]; servingMs: number[] }[];
      push: { scriptMs: number[]; slipwayMs: number[] };
    };
    expect(result.rollouts.map((r) => [r.replicas, r.image, r.baselineMs.length, r.servingMs.length])).toEqual([
      [1, "on the host", 1, 1],
      [1, "pulled", 1, 1],
    ]);
    expect(result.push.slipwayMs).toHaveLength(1);
    // Everything it started is gone: its containers and its database.
    expect(await databaseExists(databaseOf(run))).toBe(false);
  }, 600_000);
});
