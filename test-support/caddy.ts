// A real Caddy per test, its admin API on a unix socket in a temporary directory (no port to
// collide on), and the port it will serve services on. The control plane under test configures
// it through that socket, as in production.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request, type Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./host.js";

export interface TestCaddy {
  /** For INGRESS_CADDY_ADMIN. */
  adminAddress: string;
  /** For INGRESS_LISTEN. */
  listen: string;
  port: number;
  stop(): Promise<void>;
}

export async function startCaddy(): Promise<TestCaddy> {
  const dir = await mkdtemp(join(tmpdir(), "slipway-caddy-"));
  const socket = join(dir, "admin.sock");
  const config = join(dir, "caddy.json");
  await writeFile(config, JSON.stringify({ admin: { listen: `unix/${socket}`, origins: ["localhost"] } }));
  const child: ChildProcess = spawn("caddy", ["run", "--config", config], {
    // Its own HOME: autosaved config and certificates stay in the test's directory.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const adminAddress = `unix:${socket}`;
  // Ready when its admin API answers (Caddy logs readiness, but the API is what the control plane needs).
  await new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`caddy exited:\n${output}`));
      adminAnswers(socket).then(resolve, () => {
        if (Date.now() - started > 20_000) return reject(new Error(`caddy did not start:\n${output}`));
        setTimeout(attempt, 50);
      });
    };
    attempt();
  });
  // Nothing listens there until the control plane configures Caddy.
  const port = await freePort();
  return {
    adminAddress,
    listen: `127.0.0.1:${port}`,
    port,
    stop: async () => {
      if (child.exitCode === null) {
        await new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        });
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves when Caddy's admin API answers on its unix socket. */
function adminAnswers(socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: "/config/", headers: { host: "localhost" } }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else reject(new Error(`status ${res.statusCode}`));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A request that failed on a kept-alive connection the server had closed, before any answer. */
export class StaleConnection extends Error {
  override name = "StaleConnection";
}

/**
 * GET through the ingress the way a browser does for a `*.localhost` URL: to the loopback address,
 * with the URL's host name in the Host header. Resolves with status and body; rejects on a
 * connection error (a StaleConnection when it was a reused keep-alive connection that the server
 * closed before answering). Without `agent`, on a connection of its own.
 */
export function getThroughIngress(
  url: string,
  agent: Agent | false = false,
): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: Number(target.port || 80),
        path: target.pathname,
        headers: { host: target.host },
        agent,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (error: NodeJS.ErrnoException) => {
      const closedUnderUs = req.reusedSocket && (error.code === "ECONNRESET" || error.message === "socket hang up");
      reject(closedUnderUs ? new StaleConnection(error.message) : error);
    });
    req.end();
  });
}
