// Runs a command in its own process group so that stopping it stops everything it started
// (podman, buildah, a RUN step's shell): SIGTERM to the group, then SIGKILL after a grace period.
import { spawn } from "node:child_process";
import { StringDecoder } from "node:string_decoder";

export class ProcessError extends Error {
  override name = "ProcessError";
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
  ) {
    super(message);
  }
}

export interface RunOptions {
  cwd?: string;
  /** Added to a minimal environment; values never appear in argv or in what we print. */
  env?: Record<string, string>;
  signal?: AbortSignal;
  /** Receives stdout and stderr as they arrive, decoded (a character split across reads stays whole). */
  onOutput?: (text: string) => void;
  killGraceMs?: number;
  /** What the user should read when the command fails, e.g. "podman build". */
  label?: string;
  /** Told of the process group while it runs, so a restarted agent can stop what a killed one left. */
  registry?: { add(pid: number): Promise<void>; remove(pid: number): Promise<void> };
}

const BASE_ENV_KEYS = [
  "PATH",
  "HOME",
  "LANG",
  "TMPDIR",
  "XDG_RUNTIME_DIR",
  "CONTAINERS_CONF",
  "CONTAINERS_REGISTRIES_CONF",
];

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of BASE_ENV_KEYS) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** Resolves when the command exits 0; rejects with a ProcessError otherwise or when aborted. */
export function runProcess(command: string, args: string[], options: RunOptions = {}): Promise<void> {
  const label = options.label ?? command;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new ProcessError(`${label} was stopped before it started`, null, null));
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...baseEnv(), ...options.env },
      detached: true, // its own process group, so the whole tree can be signalled
      stdio: ["ignore", "pipe", "pipe"],
    });
    const pid = child.pid;
    // Recorded for a restarted agent; failing to record must not fail the work (or crash the agent).
    const recorded = pid && options.registry ? options.registry.add(pid).catch(() => {}) : Promise.resolve();
    for (const stream of [child.stdout, child.stderr]) {
      const decoder = new StringDecoder("utf8");
      stream.on("data", (chunk: Buffer) => options.onOutput?.(decoder.write(chunk)));
      stream.on("end", () => {
        const rest = decoder.end();
        if (rest) options.onOutput?.(rest);
      });
    }

    let killTimer: NodeJS.Timeout | undefined;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // the group is already gone
      }
    };
    const onAbort = () => {
      signalGroup("SIGTERM");
      killTimer = setTimeout(() => signalGroup("SIGKILL"), options.killGraceMs ?? 10_000);
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });

    child.on("error", (error) => {
      options.signal?.removeEventListener("abort", onAbort);
      reject(new ProcessError(`${label} could not start: ${error.message}`, null, null));
    });
    child.on("close", (code, signal) => {
      options.signal?.removeEventListener("abort", onAbort);
      clearTimeout(killTimer);
      // Anything the command left running in its group goes with it.
      signalGroup("SIGKILL");
      if (pid && options.registry) {
        const registry = options.registry;
        void recorded.then(() => registry.remove(pid)).catch(() => {});
      }
      if (options.signal?.aborted) reject(new ProcessError(`${label} was stopped`, code, signal));
      else if (code === 0) resolve();
      else
        reject(new ProcessError(`${label} exited with ${signal ? `signal ${signal}` : `code ${code}`}`, code, signal));
    });
  });
}
