// Benchmark: rollouts and push-to-live on real parts (a control plane with Caddy as its ingress, a
// real agent process, podman, the local registry, a git server), each beside a baseline measured in
// the same run, alternately, because the machine is shared and noisy:
//
// 1. Rollout of N replicas of a small image (already on the host, or pulled from the registry):
//    a Slipway deployment, from its creation until every replica is healthy and the new version
//    answers at the service's stable URL, beside `podman run` + a health wait done directly for the
//    same number of containers, with as many at once as the agent has deploy slots. Target: Slipway's
//    overhead ≤ 1 s per replica.
// 2. Push to live with a warm cache: a signed push webhook until the new version answers at the
//    stable URL, beside bench/plain-deploy.sh (clone + build + push + run + health wait) for the same
//    commit. Target: < 2 × the script.
//
//   bench/run.sh rollouts [--replicas 1,10] [--rounds 3] [--push-rounds 3] [--deploy-slots 4] [--json FILE]
//
// Exits non-zero only when the benchmark itself fails, never because a target was missed.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { createDatabase, createDeployment, loadConfig, startControlPlane } from "@slipway/control-plane";
import { getThroughIngress, startCaddy } from "../test-support/caddy.js";
import { createRepo } from "../test-support/git-repo.js";
import { startGitServer } from "../test-support/git-server.js";
import { BASE_IMAGE, REGISTRY_HOST, ensureBaseImage } from "../test-support/registry.js";
import { pushPayload, signedDelivery } from "../test-support/webhooks.js";
import { admin, urlFor } from "./database.js";

const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    replicas: { type: "string", default: "1,10" },
    rounds: { type: "string", default: "3" },
    "push-rounds": { type: "string", default: "3" },
    "deploy-slots": { type: "string", default: "4" },
    json: { type: "string" },
  },
});
const REPLICA_COUNTS = args.replicas.split(",").map(Number);
const ROUNDS = Number(args.rounds);
const PUSH_ROUNDS = Number(args["push-rounds"]);
const SLOTS = Number(args["deploy-slots"]);
/** The health check's interval, Slipway's and the baseline's alike. */
const HEALTH_INTERVAL_MS = 100;

const AGENT_MAIN = fileURLToPath(new URL("../../../agent/dist/main.js", import.meta.url));
const PLAIN_DEPLOY = fileURLToPath(new URL("../../plain-deploy.sh", import.meta.url));
const BENCH_LABEL = `slipway-bench=${randomBytes(4).toString("hex")}`;

const log = (line: string) => console.error(line);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Polls `read` every `intervalMs` until it returns something; fails after `timeoutMs`. */
async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 300_000, intervalMs = 20) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function podman(...argv: string[]): Promise<string> {
  return (await run("podman", argv, { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();
}

/** A small image whose page names `tag`, pushed to the registry; returns its reference by digest. */
async function buildImage(tag: string, keepOnHost: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "slipway-bench-image-"));
  try {
    await writeFile(join(dir, "index.html"), `${tag}\n`);
    await writeFile(
      join(dir, "Containerfile"),
      `FROM ${BASE_IMAGE}\nCOPY index.html /www/index.html\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n`,
    );
    const image = `${REGISTRY_HOST}/slipway-bench/site:${tag}`;
    await podman("build", "--quiet", "--tag", image, dir);
    await podman("push", "--quiet", "--digestfile", join(dir, "digest"), image);
    const digest = (await readFile(join(dir, "digest"), "utf8")).trim();
    if (!keepOnHost) await podman("rmi", image);
    return `${REGISTRY_HOST}/slipway-bench/site@${digest}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Answers `expected` at `url` through the ingress (Host header), or undefined. */
const answers = async (url: string, expected: string) =>
  (await getThroughIngress(url).catch(() => undefined))?.body === expected ? true : undefined;

/** Runs `tasks` with at most `limit` at once. */
async function limited(limit: number, tasks: (() => Promise<void>)[]): Promise<void> {
  const queue = [...tasks];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let task = queue.shift(); task; task = queue.shift()) await task();
    }),
  );
}

/** The baseline: pull when asked, then `podman run` + a health wait per replica, `SLOTS` at once. */
async function baselineRollout(image: string, replicas: number, expected: string, pull: boolean): Promise<number> {
  const ids: string[] = [];
  const started = performance.now();
  if (pull) await podman("pull", "--quiet", image);
  await limited(
    SLOTS,
    Array.from({ length: replicas }, () => async () => {
      const id = await podman(
        "run",
        "--detach",
        "--init",
        "--label",
        BENCH_LABEL,
        "--publish",
        "127.0.0.1::8080",
        image,
      );
      ids.push(id);
      const address = (await podman("port", id, "8080/tcp")).split("\n")[0]!;
      await until(
        "a baseline container",
        async () =>
          (await fetch(`http://${address}/`)
            .then((r) => r.text())
            .catch(() => "")) === expected
            ? true
            : undefined,
        60_000,
        HEALTH_INTERVAL_MS,
      );
    }),
  );
  const elapsed = performance.now() - started;
  await podman("rm", "--force", "--time", "0", ...ids);
  return elapsed;
}

interface RolloutRow {
  replicas: number;
  image: "on the host" | "pulled";
  baselineMs: number[];
  healthyMs: number[];
  servingMs: number[];
}

async function main(): Promise<void> {
  const dbName = `slipway_bench_${randomBytes(5).toString("hex")}`;
  const databaseUrl = urlFor(dbName);
  const cleanups: (() => Promise<unknown> | void)[] = [];
  const token = randomBytes(24).toString("hex");
  const webhookSecret = randomBytes(24).toString("hex");
  let agent: ChildProcess | undefined;
  try {
    await ensureBaseImage();
    await admin(`CREATE DATABASE ${dbName}`);
    cleanups.push(() => admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`));
    console.error(`database ${dbName} (dropped at the end)`);

    const caddy = await startCaddy();
    cleanups.push(() => caddy.stop());
    const controlPlane = await startControlPlane(
      loadConfig({
        DATABASE_URL: databaseUrl,
        REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
        HTTP_HOST: "127.0.0.1",
        HTTP_PORT: "0",
        GRPC_HOST: "127.0.0.1",
        GRPC_PORT: "0",
        GITHUB_WEBHOOK_SECRET: webhookSecret,
        SLIPWAY_BOOTSTRAP_TOKEN: token,
        SLIPWAY_SECRET_KEY: randomBytes(32).toString("base64"),
        REGISTRY_HOST,
        INGRESS_CADDY_ADMIN: caddy.adminAddress,
        INGRESS_LISTEN: caddy.listen,
        INGRESS_BASE_DOMAIN: "localhost",
        INGRESS_RESOLVER_LISTEN: "127.0.0.1:0",
        LOG_LEVEL: "warn",
      }),
    );
    cleanups.push(() => controlPlane.stop());
    const db = createDatabase(databaseUrl, { max: 2 });
    cleanups.push(() => db.destroy());
    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const response = await fetch(`${controlPlane.httpUrl}/api${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    };

    // A git host with the service's repository, and the service.
    const gitRoot = await mkdtemp(join(tmpdir(), "slipway-bench-git-"));
    cleanups.push(() => rm(gitRoot, { recursive: true, force: true }));
    const git = await startGitServer(gitRoot);
    cleanups.push(() => git.close());
    const repo = await createRepo(gitRoot, `site-${randomBytes(3).toString("hex")}`);
    const repositoryId = randomInt(1_000_000, 2_000_000_000);
    const project = await api<{ id: string }>("POST", "/projects", { name: `bench-${randomBytes(3).toString("hex")}` });
    cleanups.push(() => podman("rm", "--force", "--time", "0", "--filter", `label=slipway.project=${project.id}`));
    cleanups.push(() => podman("rm", "--force", "--time", "0", "--filter", `label=${BENCH_LABEL}`));
    const service = await api<{ id: string; url: string }>("POST", `/projects/${project.id}/services`, {
      name: "site",
      gitUrl: `${git.url}${repo.path}`,
      githubRepoId: repositoryId,
      branch: "main",
      containerPort: 8080,
      drainSeconds: 0,
      healthCheck: { type: "http", path: "/", intervalMs: HEALTH_INTERVAL_MS },
    });

    // The agent, a process of its own as on any host.
    const { joinToken } = await api<{ joinToken: string }>("POST", "/agents", {
      name: "bench",
      capabilities: ["build", "deploy"],
    });
    const stateDir = await mkdtemp(join(tmpdir(), "slipway-bench-agent-"));
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    agent = spawn(process.execPath, [AGENT_MAIN], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/root",
        SLIPWAY_SERVER: controlPlane.grpcAddress,
        SLIPWAY_JOIN_TOKEN: joinToken,
        SLIPWAY_STATE_DIR: stateDir,
        SLIPWAY_DEPLOY_SLOTS: String(SLOTS),
        INVENTORY_SECONDS: "1",
        KILL_GRACE_SECONDS: "2",
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const running = agent;
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          if (running.exitCode !== null) return resolve();
          running.once("exit", () => resolve());
          running.kill("SIGTERM");
        }),
    );
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: running.stdout! }).on("line", (line) => {
        if (line.includes('"agent running"')) resolve();
      });
      running.once("exit", (code) => reject(new Error(`the agent exited with ${code}`)));
    });

    // ---- 1. rollouts --------------------------------------------------------------------------
    const containersOf = async () =>
      (await podman("ps", "--all", "--quiet", "--no-trunc", "--filter", `label=slipway.service=${service.id}`))
        .split("\n")
        .filter(Boolean)
        .sort();
    let variant = 0;
    const slipwayRollout = async (image: string, replicas: number, expected: string) => {
      const build = await db
        .insertInto("builds")
        .values({
          service_id: service.id,
          commit_sha: randomBytes(20).toString("hex"),
          branch: "main",
          trigger: "manual",
          status: "completed",
          image_ref: image.replace(/@sha256:.*/, ":bench"),
          image_digest: image.slice(image.indexOf("@") + 1),
          finished_at: new Date(),
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      const started = performance.now();
      const deployment = await db.transaction().execute((trx) =>
        createDeployment(trx, {
          serviceId: service.id,
          buildId: build.id,
          imageRef: image,
          replicas,
          createdBy: "bench",
          trigger: "manual",
        }),
      );
      const status = await until("the deployment", async () => {
        const row = await db
          .selectFrom("deployments")
          .select(["status", "reason"])
          .where("id", "=", deployment.id)
          .executeTakeFirstOrThrow();
        return row.status === "pending" || row.status === "in_progress" ? undefined : row;
      });
      if (status.status !== "succeeded") throw new Error(`the deployment ${status.status}: ${status.reason}`);
      const healthy = performance.now() - started;
      await until("the new version at the URL", () => answers(service.url, expected));
      const serving = performance.now() - started;
      // Not timed: the old replicas leave, so that no removal runs during the next measurement.
      const wanted = (
        await db
          .selectFrom("deploy_work_items")
          .select("container_id")
          .where("deployment_id", "=", deployment.id)
          .execute()
      )
        .map((i) => i.container_id)
        .sort();
      await until("the old replicas' removal", async () =>
        JSON.stringify(await containersOf()) === JSON.stringify(wanted) ? true : undefined,
      );
      return { healthy, serving };
    };

    const rollouts: RolloutRow[] = [];
    for (const replicas of REPLICA_COUNTS) {
      for (const image of ["on the host", "pulled"] as const) {
        const row: RolloutRow = { replicas, image, baselineMs: [], healthyMs: [], servingMs: [] };
        rollouts.push(row);
        for (let round = 0; round < ROUNDS; round++) {
          // A new image for each run: "pulled" really pulls; "on the host" has it already.
          const baselineTag = `v${++variant}`;
          const baselineImage = await buildImage(baselineTag, image === "on the host");
          row.baselineMs.push(await baselineRollout(baselineImage, replicas, `${baselineTag}\n`, image === "pulled"));
          const slipwayTag = `v${++variant}`;
          const slipwayImage = await buildImage(slipwayTag, image === "on the host");
          const measured = await slipwayRollout(slipwayImage, replicas, `${slipwayTag}\n`);
          row.healthyMs.push(measured.healthy);
          row.servingMs.push(measured.serving);
          log(
            `rollout of ${replicas} (image ${image}), round ${round + 1}: podman run + health wait ${seconds(row.baselineMs.at(-1)!)}, ` +
              `Slipway healthy ${seconds(measured.healthy)}, serving ${seconds(measured.serving)}`,
          );
        }
      }
    }

    // ---- 2. push to live ----------------------------------------------------------------------
    const site = (version: string) => ({
      Containerfile: `FROM ${BASE_IMAGE}\nCOPY www /www\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n`,
      "www/index.html": `${version}\n`,
    });
    const pushToLive = async (version: string) => {
      const sha = await repo.commit(site(version), version);
      const started = performance.now();
      const delivery = await signedDelivery(webhookSecret, "push", pushPayload({ repositoryId, branch: "main", sha }));
      const response = await fetch(`${controlPlane.httpUrl}/api/webhooks/github`, {
        method: "POST",
        headers: delivery.headers,
        body: delivery.body,
      });
      if (response.status !== 202) throw new Error(`the webhook answered ${response.status}`);
      await until(`${version} at the URL`, () => answers(service.url, `${version}\n`));
      return performance.now() - started;
    };
    const plainDeploy = async (version: string) => {
      const started = performance.now();
      const { stdout } = await run(PLAIN_DEPLOY, [
        `${git.url}${repo.path}`,
        "main",
        `${REGISTRY_HOST}/slipway-bench/plain:${version}`,
        version,
        BENCH_LABEL,
      ]);
      const elapsed = performance.now() - started;
      await podman("rm", "--force", "--time", "0", stdout.trim());
      return elapsed;
    };
    // Warm both caches: the base image's layers, git, the build of an unchanged Containerfile.
    await pushToLive("warm-up");
    await plainDeploy("warm-up");
    const push = { scriptMs: [] as number[], slipwayMs: [] as number[] };
    for (let round = 0; round < PUSH_ROUNDS; round++) {
      push.slipwayMs.push(await pushToLive(`push-${round}`));
      // The same commit, deployed by the script.
      push.scriptMs.push(await plainDeploy(`push-${round}`));
      log(
        `push to live, round ${round + 1}: script ${seconds(push.scriptMs.at(-1)!)}, Slipway ${seconds(push.slipwayMs.at(-1)!)}`,
      );
    }

    // ---- report -------------------------------------------------------------------------------
    const lines: string[] = [];
    lines.push(`## Rollouts: Slipway beside \`podman run\` + a health wait (${SLOTS} at once, both)`, "");
    lines.push(
      "| replicas | image | podman run + health wait, median | Slipway: all healthy, median | Slipway: serving at the URL, median | overhead per replica | target ≤ 1 s |",
      "| ---: | --- | ---: | ---: | ---: | ---: | --- |",
    );
    const rolloutJson = rollouts.map((row) => {
      const overhead = (median(row.servingMs) - median(row.baselineMs)) / row.replicas;
      lines.push(
        `| ${row.replicas} | ${row.image} | ${seconds(median(row.baselineMs))} | ${seconds(median(row.healthyMs))} | ` +
          `${seconds(median(row.servingMs))} | ${seconds(overhead)} | ${overhead <= 1000 ? "PASS" : "FAIL"} |`,
      );
      return { ...row, overheadPerReplicaMs: overhead };
    });
    const ratio = median(push.slipwayMs) / median(push.scriptMs);
    lines.push("", "## Push to live, warm cache", "");
    lines.push("| path | median | runs | target |", "| --- | ---: | --- | --- |");
    lines.push(
      `| plain script: clone + build + push + run + health wait | ${seconds(median(push.scriptMs))} | ${push.scriptMs.map(seconds).join(", ")} | baseline |`,
    );
    lines.push(
      `| Slipway: signed webhook → new version at the stable URL | ${seconds(median(push.slipwayMs))} (${ratio.toFixed(2)} × the script) | ` +
        `${push.slipwayMs.map(seconds).join(", ")} | < 2 × the script: ${ratio < 2 ? "PASS" : "FAIL"} |`,
    );
    console.log(lines.join("\n"));
    if (args.json)
      writeFileSync(
        args.json,
        JSON.stringify({ slots: SLOTS, rollouts: rolloutJson, push: { ...push, ratio } }, null, 2),
      );
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
