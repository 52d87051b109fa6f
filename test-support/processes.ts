// Runs the real control plane and agent as child processes (from their built dist/), and waits for
// the log line that says each is ready, so tests synchronise on facts rather than sleeps.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { EventEmitter } from "node:events";
import { createInterface } from "node:readline";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const CONTROL_PLANE_MAIN = `${ROOT}control-plane/dist/main.js`;
export const AGENT_MAIN = `${ROOT}agent/dist/main.js`;

export interface ChildHandle {
  process: ChildProcess;
  /** Every line the process printed so far (stdout and stderr). */
  lines: string[];
  /** Emits each line as it arrives. */
  events: EventEmitter<{ line: [string] }>;
  stop(): Promise<void>;
}

function launch(main: string, env: Record<string, string>): ChildHandle {
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const events = new EventEmitter<{ line: [string] }>();
  // One reader per stream for the process's whole life: the pipes must keep draining, or a chatty
  // process would block on a full pipe.
  for (const stream of [child.stdout, child.stderr]) {
    if (stream)
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        events.emit("line", line);
      });
  }
  return {
    process: child,
    lines,
    events,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
        child.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

/** Resolves with the first JSON log line for which `match` returns a value; rejects if the process exits first. */
function waitForLine<T>(
  handle: ChildHandle,
  match: (entry: Record<string, unknown>) => T | undefined,
  what: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const parse = (line: string): T | undefined => {
      try {
        return match(JSON.parse(line) as Record<string, unknown>);
      } catch {
        return undefined;
      }
    };
    for (const line of handle.lines) {
      const found = parse(line);
      if (found !== undefined) return resolve(found);
    }
    const onLine = (line: string) => {
      const found = parse(line);
      if (found === undefined) return;
      cleanup();
      resolve(found);
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`${what}: process exited first:\n${handle.lines.slice(-30).join("\n")}`));
    };
    const cleanup = () => {
      handle.events.off("line", onLine);
      handle.process.off("exit", onExit);
    };
    handle.events.on("line", onLine);
    handle.process.once("exit", onExit);
  });
}

export interface ControlPlaneProcess extends ChildHandle {
  httpUrl: string;
  grpcAddress: string;
}

/** The secret key test control planes share unless a test brings its own (all on one database need one). */
export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString("base64");

export async function startControlPlaneProcess(env: Record<string, string>): Promise<ControlPlaneProcess> {
  const handle = launch(CONTROL_PLANE_MAIN, {
    HTTP_PORT: "0",
    GRPC_PORT: "0",
    SLIPWAY_SECRET_KEY: TEST_SECRET_KEY,
    ...env,
  });
  const ready = await waitForLine(
    handle,
    (e) => (e.msg === "control plane ready" ? { httpUrl: String(e.httpUrl), grpcPort: Number(e.grpcPort) } : undefined),
    "control plane",
  );
  return { ...handle, httpUrl: ready.httpUrl, grpcAddress: `127.0.0.1:${ready.grpcPort}` };
}

export async function startAgentProcess(env: Record<string, string>): Promise<ChildHandle> {
  const handle = launch(AGENT_MAIN, env);
  await waitForLine(handle, (e) => (e.msg === "agent running" ? true : undefined), "agent");
  return handle;
}

/** Runs a main script to its end (for commands that exit): its exit code and what it printed. */
export function runToExit(
  main: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main, ...args], { env: { PATH: process.env.PATH ?? "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
