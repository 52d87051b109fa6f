// Periodically ends leases nobody renews, so no work can stay in a running state forever.
import type { FastifyBaseLogger } from "fastify";
import type { Db } from "../db/database.js";
import { reapExpiredBuilds } from "../builds/build-repository.js";
import { reapExpiredDeployItems } from "../deployments/deployment-repository.js";
import { notifyWorkAvailable } from "../agents/work-notifier.js";
import type { Metrics } from "../metrics/metrics.js";

export async function reapOnce(db: Db): Promise<{ requeued: number; failed: number; lost: number }> {
  const builds = await reapExpiredBuilds(db);
  const lost = await reapExpiredDeployItems(db);
  if (builds.requeued > 0) await notifyWorkAvailable(db, "build");
  return { ...builds, lost };
}

/** Runs reapOnce every `intervalSeconds` until the returned stop function is called. */
export function startReaper(
  db: Db,
  log: FastifyBaseLogger,
  intervalSeconds: number,
  metrics: Metrics,
): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = reapOnce(db).then(
      (result) => {
        if (result.requeued || result.failed || result.lost) log.warn(result, "reaped expired leases");
        metrics.leaseExpiries.inc({ kind: "build", outcome: "requeued" }, result.requeued);
        metrics.leaseExpiries.inc({ kind: "build", outcome: "ended" }, result.failed);
        metrics.leaseExpiries.inc({ kind: "deploy", outcome: "lost" }, result.lost);
      },
      (error: unknown) => log.error({ err: error }, "reaper failed; will retry"),
    );
  }, intervalSeconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
