// The work this agent holds, kept on disk, so that after a crash or a kill the restarted agent can
// name it to the control plane (Resume) and carry on with it or drop it at once, instead of leaving
// it to wait for its lease to expire.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { WorkRef } from "@slipway/proto";

const key = (ref: WorkRef) => `${ref.id}/${ref.leaseToken}`;

export class HeldWorkStore {
  private readonly path: string;
  private readonly held = new Map<string, WorkRef>();
  private writing: Promise<void> = Promise.resolve();

  constructor(stateDir: string) {
    this.path = join(stateDir, "held-work.json");
  }

  /**
   * Takes over what the previous run of the agent still held when it stopped: it stays recorded until
   * each item is started again (add) or dropped (remove), so a second crash meanwhile loses nothing.
   */
  async takeOver(): Promise<WorkRef[]> {
    let previous: WorkRef[] = [];
    try {
      const parsed = JSON.parse(await readFile(this.path, "utf8")) as unknown;
      if (Array.isArray(parsed)) previous = parsed as WorkRef[];
    } catch {
      // no file yet, or unreadable: nothing to take over
    }
    for (const ref of previous) this.held.set(key(ref), ref);
    return previous;
  }

  add(ref: WorkRef): Promise<void> {
    this.held.set(key(ref), ref);
    return this.save();
  }

  remove(ref: WorkRef): Promise<void> {
    this.held.delete(key(ref));
    return this.save();
  }

  /** Writes are serialised and atomic (write, then rename): a crash never leaves half a file. */
  private save(): Promise<void> {
    const snapshot = JSON.stringify([...this.held.values()]);
    this.writing = this.writing.then(async () => {
      await mkdir(join(this.path, ".."), { recursive: true, mode: 0o700 });
      await writeFile(`${this.path}.tmp`, snapshot, { mode: 0o600 });
      await rename(`${this.path}.tmp`, this.path);
    });
    return this.writing.catch(() => {});
  }
}
