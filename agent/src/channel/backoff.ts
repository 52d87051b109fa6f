/**
 * Full-jitter exponential backoff: a random delay between 0 and min(cap, base·2^attempt), so a fleet
 * of agents that lost the control plane together does not come back together.
 */
export function fullJitterDelay(attempt: number, baseMs = 250, capMs = 30_000, random = Math.random): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20)));
}

/** Resolves after `ms`, or rejects at once when the signal aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
