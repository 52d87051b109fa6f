import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Containers (running or not) carrying a label, via the podman CLI. */
export async function containersWithLabel(label: string): Promise<{ id: string; running: boolean }[]> {
  const { stdout } = await run("podman", ["ps", "--all", "--filter", `label=${label}`, "--format", "json"]);
  const containers = JSON.parse(stdout || "[]") as { Id: string; State: string }[];
  return containers.map((c) => ({ id: c.Id, running: c.State === "running" }));
}

export async function removeContainersWithLabel(label: string): Promise<void> {
  const containers = await containersWithLabel(label);
  if (containers.length > 0) await run("podman", ["rm", "--force", ...containers.map((c) => c.id)]);
}
