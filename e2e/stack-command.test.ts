// The README's run command: from this checkout, deploy/dev/stack.sh sets up the host, builds, and runs
// the all-in-one stack; /healthz answers and the local agent enrols. Ctrl-C (SIGINT) stops it all.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../test-support/host.js";
import { apiClient, eventually } from "../test-support/api.js";
import { getThroughIngress } from "../test-support/caddy.js";
import { createTestDatabase, type TestDatabase } from "../test-support/database.js";

const STACK = fileURLToPath(new URL("../deploy/dev/stack.sh", import.meta.url));

describe("deploy/dev/stack.sh", () => {
  let database: TestDatabase;
  let stateDir: string;
  let stack: ChildProcess;
  const output: string[] = [];
  let url: string;
  let ingressPort: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    stateDir = await mkdtemp(join(tmpdir(), "slipway-stack-"));
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    ingressPort = await freePort();
    stack = spawn("bash", [STACK], {
      env: {
        ...process.env,
        SLIPWAY_STACK_DIR: stateDir,
        DATABASE_URL: database.url,
        HTTP_PORT: String(httpPort),
        GRPC_PORT: String(grpcPort),
        INGRESS_LISTEN: `127.0.0.1:${ingressPort}`,
        INGRESS_RESOLVER_LISTEN: "127.0.0.1:0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    createInterface({ input: stack.stderr! }).on("line", (line) => output.push(line));
    url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: stack.stdout! }).on("line", (line) => {
        output.push(line);
        const match = /^Slipway is running at (\S+)$/.exec(line);
        if (match?.[1]) resolve(match[1]);
      });
      stack.once("exit", (code) => reject(new Error(`stack.sh exited with ${code}:\n${output.join("\n")}`)));
    });
  }, 600_000);

  afterAll(async () => {
    if (stack && stack.exitCode === null) {
      const exited = new Promise((resolve) => stack.once("exit", resolve));
      stack.kill("SIGINT");
      await exited;
    }
    await rm(stateDir, { recursive: true, force: true });
    await database?.drop();
  });

  it("brings the stack up: /healthz answers, the local agent enrols, and the ingress routes", async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: "ok" });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const env = await readFile(join(stateDir, "env"), "utf8");
    const token = /^SLIPWAY_BOOTSTRAP_TOKEN=(\w+)$/m.exec(env)?.[1] as string;
    const api = apiClient(url, token);
    const agents = await eventually(
      () => api.ok<{ enrolledAt: string | null; lastSeenAt: string | null }[]>("GET", "/api/agents"),
      (list) => list.some((a) => a.enrolledAt !== null && a.lastSeenAt !== null),
      { timeoutMs: 30_000, what: "the local agent enrolling" },
    );
    expect(agents).toHaveLength(1);
    // The control plane configured the stack's Caddy: a name no service has gets its clear 404.
    const ingress = await eventually(
      () =>
        getThroughIngress(`http://nothing-here.localhost:${ingressPort}/`).catch((error: Error) => ({
          status: 0,
          body: error.message,
        })),
      (answer) => answer.status !== 0,
      { timeoutMs: 30_000, what: "the ingress" },
    );
    expect(ingress).toEqual({ status: 404, body: "No service answers at this address.\n" });
    // The token and secret were printed nowhere: only their location was.
    expect(output.join("\n")).not.toContain(token);
  });

  it("stops the control plane, the agent and Caddy on Ctrl-C", async () => {
    const exited = new Promise<number | null>((resolve) => stack.once("exit", resolve));
    stack.kill("SIGINT");
    await exited;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    await expect(getThroughIngress(`http://nothing-here.localhost:${ingressPort}/`)).rejects.toThrow();
  });
});
