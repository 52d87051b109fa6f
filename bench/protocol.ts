// Messages between the benchmark (servers, database, report) and its load-generator process.

/** Parent → loader: make sure `size` unused signed pushes are ready before the next phase. */
export interface PrepareMessage {
  type: "prepare";
  secret: string;
  repositoryId: number;
  branch: string;
  size: number;
}

/** Parent → loader: warm up, then measure, one target. */
export interface RunMessage {
  type: "run";
  label: string;
  url: string;
  path: string;
  connections: number;
  pipelining: number;
  warmupSeconds: number;
  durationSeconds: number;
}

export type ToLoader = PrepareMessage | RunMessage | { type: "exit" };

export interface PreparedMessage {
  type: "prepared";
  generated: number;
  ready: number;
  milliseconds: number;
}

/** Loader → parent: the timed phase starts now (warm-up is over). */
export interface TimedStartMessage {
  type: "timed-start";
}

export interface PhaseResult {
  label: string;
  /** Responses received during the timed phase, and its wall-clock length. */
  responses: number;
  seconds: number;
  requestsPerSecond: number;
  /** Latency over every response in the timed phase (ms, from the loader's clock). */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  statusCodes: Record<string, number>;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Signed pushes taken from the pool during warm-up plus timed phase: an upper bound on deliveries sent. */
  consumed: number;
  /** Responses during warm-up plus timed phase, by status. */
  allStatusCodes: Record<string, number>;
  /** Requests that had to be signed on the fly because the pool ran dry (should be 0). */
  signedInline: number;
  /** The loader's own CPU use during the timed phase, as a fraction of one core. */
  loaderCpu: number;
}

export interface ResultMessage {
  type: "result";
  result: PhaseResult;
}

export type FromLoader = PreparedMessage | TimedStartMessage | ResultMessage | { type: "error"; message: string };
