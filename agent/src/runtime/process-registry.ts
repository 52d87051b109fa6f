// Remembers, on disk, the process groups the agent started, so that an agent killed without a
// chance to clean up (SIGKILL, OOM, power loss of the service) stops them when it starts again:
// work it no longer holds must not keep running and eating the host.
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** The kernel's start time of a process (field 22 of /proc/PID/stat), to tell a reused pid apart. */
async function startTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces; fields after its closing parenthesis are fixed.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export class ProcessRegistry {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, "processes");
  }

  async add(pid: number): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(join(this.dir, String(pid)), (await startTime(pid)) ?? "");
  }

  async remove(pid: number): Promise<void> {
    await rm(join(this.dir, String(pid)), { force: true });
  }

  /** Kills every recorded process group that is still the one we started; returns how many. */
  async killLeftovers(): Promise<number> {
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch {
      return 0;
    }
    let killed = 0;
    for (const entry of entries) {
      const pid = Number(entry);
      const recorded = await readFile(join(this.dir, entry), "utf8").catch(() => "");
      if (Number.isInteger(pid) && pid > 1 && recorded && (await startTime(pid)) === recorded) {
        try {
          process.kill(-pid, "SIGKILL");
          killed++;
        } catch {
          // already gone
        }
      }
      await rm(join(this.dir, entry), { force: true });
    }
    return killed;
  }
}
