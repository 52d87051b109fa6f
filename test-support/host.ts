// Facts about this host that end-to-end tests check: processes and free ports.
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Whether a process whose whole command line is `command` is alive on this host. */
export async function isRunning(command: string): Promise<boolean> {
  const { stdout } = await run("ps", ["-eo", "args"]);
  return stdout.split("\n").some((line) => line.trim() === command);
}

/** A TCP port free on 127.0.0.1 right now (for a process that must know its URL before it starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
