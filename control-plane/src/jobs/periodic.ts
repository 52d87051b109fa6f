// Runs a task every few seconds, one run at a time, until stopped: for the control plane's own
// background passes (the reaper, the replica watch), which every control plane runs (each pass is
// safe beside another control plane's).
import type { FastifyBaseLogger } from "fastify";

export function every(
  seconds: number,
  task: () => Promise<void>,
  log: FastifyBaseLogger,
  what: string,
): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    running = task()
      .catch((error: unknown) => log.error({ err: error }, `${what} failed; will retry`))
      .finally(() => {
        busy = false;
      });
  }, seconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
