// Decides whether a freshly started replica is healthy, the way the service's health check says:
// an HTTP GET of a path (200–399) or a TCP connection, every `interval`, each probe given `timeout`.
// Failures during the start period do not count (an app may take a while to listen); after it,
// `retries` failures in a row make the replica unhealthy. A container that exits is unhealthy at once.
import { request } from "node:http";
import { connect } from "node:net";
import type { HealthCheck } from "@slipway/proto";
import { delay } from "../channel/backoff.js";

export class Unhealthy extends Error {
  override name = "Unhealthy";
}

/** Resolves once a probe succeeds; rejects with an Unhealthy saying why, or when `signal` aborts. */
export async function waitUntilHealthy(
  host: string,
  port: number,
  check: HealthCheck,
  options: { signal: AbortSignal; isDead: () => Promise<boolean> },
): Promise<void> {
  const interval = Math.max(check.intervalMs, 50);
  const timeout = Math.max(check.timeoutMs, 50);
  const retries = Math.max(check.retries, 1);
  const startPeriodEnds = Date.now() + check.startPeriodMs;
  const what = check.probe?.$case === "tcp" ? `TCP port ${port}` : `GET ${httpPath(check)} on port ${port}`;
  let failuresInARow = 0;
  for (;;) {
    if (options.signal.aborted) throw new Unhealthy("stopped while waiting for the replica to become healthy");
    const problem = await probe(host, port, check, timeout);
    if (problem === undefined) return;
    if (await options.isDead()) throw new Unhealthy(`the container exited before it became healthy (${problem})`);
    if (Date.now() >= startPeriodEnds && ++failuresInARow >= retries) {
      throw new Unhealthy(`the health check failed ${failuresInARow} time(s) in a row: ${what}: ${problem}`);
    }
    await delay(interval, options.signal).catch(() => {});
  }
}

const httpPath = (check: HealthCheck) => (check.probe?.$case === "httpPath" ? check.probe.value || "/" : "/");

/** undefined when healthy, otherwise what went wrong. */
function probe(host: string, port: number, check: HealthCheck, timeoutMs: number): Promise<string | undefined> {
  return check.probe?.$case === "tcp"
    ? probeTcp(host, port, timeoutMs)
    : probeHttp(host, port, httpPath(check), timeoutMs);
}

function probeHttp(host: string, port: number, path: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: "GET", timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 400 ? undefined : `it answered ${status}`);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (error) => resolve(error.message));
    req.end();
  });
}

function probeTcp(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once("connect", () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(`no connection within ${timeoutMs} ms`);
    });
    socket.once("error", (error) => resolve(error.message));
  });
}
