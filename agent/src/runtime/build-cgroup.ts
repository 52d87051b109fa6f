// A cgroup of its own for each build, so stopping a build stops everything it started.
//
// `podman build` runs each RUN step through the OCI runtime in a new session: signalling the build's
// process group kills podman but leaves the RUN step's processes running (verified on podman 4.3
// with runc). Passing --cgroup-parent puts those processes in a cgroup we name, and stopping the
// build ends with terminating (then killing) whatever is left in it.
import { readFile, readdir, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { delay } from "../channel/backoff.js";

const CGROUP_ROOT = "/sys/fs/cgroup";

/**
 * Build cgroups are named after the agent, so that agents sharing a host never touch each other's:
 * slipway_build_{agent}_{work}_{attempt}, ids without dashes — systemd reads every dash in a slice
 * name as one more level of the tree, so a dash-free name stays one directory wherever it lands.
 */
const compact = (id: string) => id.replace(/-/g, "");
const agentPrefix = (agentId: string) => `slipway_build_${compact(agentId)}_`;
const cgroupName = (agentId: string, workId: string, attempt: number) =>
  `${agentPrefix(agentId)}${compact(workId)}_${attempt}`;

/** The --cgroup-parent for one build attempt (a plain path; systemd-managed hosts get a slice name). */
export function buildCgroupParent(agentId: string, workId: string, attempt: number, systemdManaged: boolean): string {
  const name = cgroupName(agentId, workId, attempt);
  return systemdManaged ? `${name}.slice` : `/${name}`;
}

/** Every directory under /sys/fs/cgroup (all v1 hierarchies, or the v2 tree) whose name contains `key`. */
async function findCgroups(key: string, dir = CGROUP_ROOT, depth = 0): Promise<string[]> {
  if (depth > 4) return [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const path = join(dir, entry.name);
    if (entry.name.includes(key)) found.push(path);
    else if (depth < 3 && !entry.name.startsWith("slipway_build_"))
      found.push(...(await findCgroups(key, path, depth + 1)));
  }
  return found;
}

/** Every process in a cgroup and the cgroups below it. */
async function processesIn(cgroup: string): Promise<number[]> {
  const pids: number[] = [];
  try {
    const procs = await readFile(join(cgroup, "cgroup.procs"), "utf8");
    pids.push(...procs.split("\n").filter(Boolean).map(Number));
    for (const entry of await readdir(cgroup, { withFileTypes: true })) {
      if (entry.isDirectory()) pids.push(...(await processesIn(join(cgroup, entry.name))));
    }
  } catch {
    // gone already
  }
  return pids;
}

async function removeTree(cgroup: string): Promise<void> {
  try {
    for (const entry of await readdir(cgroup, { withFileTypes: true })) {
      if (entry.isDirectory()) await removeTree(join(cgroup, entry.name));
    }
    await rmdir(cgroup);
  } catch {
    // busy or gone: nothing more to do
  }
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  }
}

/**
 * Ends every process left in the build's cgroups: SIGTERM, then SIGKILL after `graceMs`, then
 * removes the cgroups. Returns how many processes had to be stopped.
 */
export function stopBuildCgroup(agentId: string, workId: string, attempt: number, graceMs: number): Promise<number> {
  return stopCgroups(cgroupName(agentId, workId, attempt), graceMs);
}

/** At agent start-up: this agent runs no build yet, so anything left in its build cgroups is an orphan. */
export function stopAgentBuildCgroups(agentId: string, graceMs: number): Promise<number> {
  return stopCgroups(agentPrefix(agentId), graceMs);
}

async function stopCgroups(key: string, graceMs: number): Promise<number> {
  const cgroups = await findCgroups(key);
  const collect = async () => [...new Set((await Promise.all(cgroups.map(processesIn))).flat())];
  const initial = await collect();
  if (initial.length > 0) {
    signalAll(initial, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && (await collect()).length > 0) await delay(100);
    for (let round = 0; round < 20; round++) {
      const left = await collect();
      if (left.length === 0) break;
      signalAll(left, "SIGKILL");
      await delay(50);
    }
  }
  for (const cgroup of cgroups) await removeTree(cgroup);
  return initial.length;
}
