import { access } from "node:fs/promises";
import { join } from "node:path";
import { WorkFailure } from "../work.js";

const NAMES = ["Containerfile", "Dockerfile"];

/** The Containerfile or Dockerfile in the service's directory. */
export async function findContainerfile(serviceDir: string, rootDir: string): Promise<string> {
  for (const name of NAMES) {
    const path = join(serviceDir, name);
    try {
      await access(path);
      return path;
    } catch {
      // try the next name
    }
  }
  throw new WorkFailure(
    `no Containerfile or Dockerfile in ${rootDir || "the repository root"}; builds without one (Railpack) arrive in a later release`,
  );
}
