import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Containers (running or not) carrying a label, via the podman CLI. */
export async function containersWithLabel(label: string): Promise<{ id: string; running: boolean }[]> {
  const { stdout } = await run("podman", [
    "ps",
    "--all",
    "--filter",
    `label=${label}`,
    "--format",
    "{{.ID}} {{.State}}",
  ]);
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [id = "", state = ""] = line.split(" ");
      return { id, running: state === "running" };
    });
}

export async function removeContainersWithLabel(label: string): Promise<void> {
  const containers = await containersWithLabel(label);
  if (containers.length > 0) await run("podman", ["rm", "--force", ...containers.map((c) => c.id)]);
}
