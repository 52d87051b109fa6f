// Waits for a freshly started replica to answer HTTP on its published port.
import { request } from "node:http";
import { delay } from "../channel/backoff.js";

/** Resolves once GET / answers with any status below 500; rejects after `timeoutMs` or on `isDead()`. */
export async function waitUntilAnswering(
  host: string,
  port: number,
  options: { timeoutMs: number; signal: AbortSignal; isDead: () => Promise<boolean> },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastProblem = "no answer yet";
  while (Date.now() < deadline) {
    if (options.signal.aborted) throw new Error("stopped while waiting for the replica to answer");
    try {
      const statusCode = await probe(host, port);
      if (statusCode < 500) return;
      lastProblem = `it answered ${statusCode}`;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    if (await options.isDead()) throw new Error("the container exited before it answered");
    await delay(250, options.signal);
  }
  throw new Error(
    `the replica did not answer on port ${port} within ${Math.round(options.timeoutMs / 1000)} s (${lastProblem})`,
  );
}

function probe(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: "/", method: "GET", timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}
