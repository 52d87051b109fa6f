// Periodically gives back work whose lease nobody renews, so no work can stay in a running state
// forever (work-queue.ts#reap: re-queued, or ended when it cannot run again).
import type { FastifyBaseLogger } from "fastify";
import { every } from "../jobs/periodic.js";
import type { Metrics } from "../metrics/metrics.js";
import type { WorkQueue } from "./work-queue.js";

/** Reaps every `intervalSeconds` until the returned stop function is called. */
export function startReaper(
  work: WorkQueue,
  log: FastifyBaseLogger,
  intervalSeconds: number,
  metrics: Metrics,
): () => Promise<void> {
  return every(
    intervalSeconds,
    async () => {
      const reaped = await work.reap();
      if (reaped.length > 0) log.warn({ reaped }, "reaped expired leases");
      for (const { kind, outcome, count } of reaped) metrics.leaseExpiries.inc({ kind, outcome }, count);
    },
    log,
    "reaper",
  );
}
