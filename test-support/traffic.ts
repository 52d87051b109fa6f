// Clients that keep requesting a service's URL while something happens (a rollout), and count every
// request, every failure (an error, or a status other than 200) and every distinct body.
//
// Two kinds of client run side by side. Fresh-connection clients open a connection per request:
// nothing about them can be excused, every request must succeed. Keep-alive clients reuse their
// connections as browsers do; when Caddy applies a new configuration it closes idle connections,
// and a request sent on one at that instant never reaches a server. HTTP clients retry such a
// request once on a new connection (RFC 9112 §9.3.1; browsers and curl do), and so does this one,
// counting it; any other error, or a second failure, is a failure.
import { Agent } from "node:http";
import { getThroughIngress, StaleConnection } from "./caddy.js";

export interface TrafficReport {
  sent: number;
  failures: string[];
  /** Keep-alive requests sent again after their idle connection was closed before any answer. */
  retriedOnClosedConnection: number;
  /** How many responses carried each body. */
  bodies: Map<string, number>;
}

/**
 * Sends requests from `concurrency` loops of each kind (only fresh-connection ones with
 * `keepAlive: false`) until `during` settles; returns what they saw.
 */
export async function trafficDuring(
  url: string,
  during: () => Promise<unknown>,
  { concurrency = 2, keepAlive: withKeepAlive = true }: { concurrency?: number; keepAlive?: boolean } = {},
): Promise<TrafficReport> {
  const keepAlive = new Agent({ keepAlive: true, maxSockets: concurrency });
  const report: TrafficReport = { sent: 0, failures: [], retriedOnClosedConnection: 0, bodies: new Map() };
  let done = false;
  const send = async (agent: Agent | false) => {
    try {
      return await getThroughIngress(url, agent);
    } catch (error) {
      if (!(error instanceof StaleConnection)) throw error;
      report.retriedOnClosedConnection++;
      return getThroughIngress(url, agent);
    }
  };
  const kind = (agent: Agent | false) => (agent ? "keep-alive client" : "fresh-connection client");
  const loop = async (agent: Agent | false) => {
    while (!done) {
      report.sent++;
      try {
        const { status, body } = await send(agent);
        report.bodies.set(body, (report.bodies.get(body) ?? 0) + 1);
        if (status !== 200) report.failures.push(`${kind(agent)}: status ${status}: ${body.trim()}`);
      } catch (error) {
        report.failures.push(`${kind(agent)}: ${(error as Error).message} at ${new Date().toISOString()}`);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, () =>
    withKeepAlive ? [loop(false), loop(keepAlive)] : [loop(false)],
  ).flat();
  try {
    await during();
  } finally {
    done = true;
    await Promise.all(loops);
    keepAlive.destroy();
  }
  return report;
}
