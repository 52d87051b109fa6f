// CPU and memory of processes, read from /proc, shared by the benchmarks: the processes measured
// (a control plane, PostgreSQL) are not this process, so process.cpuUsage() cannot see them.
import { readdirSync, readFileSync } from "node:fs";

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** The fields after a /proc/<pid>/stat line's "(comm)", which may itself contain spaces. */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** CPU seconds (user + system, every thread) and RSS bytes of a process. */
export function processUsage(pid: number): { cpuSeconds: number; rssBytes: number } {
  const fields = statFields(readFileSync(`/proc/${pid}/stat`, "utf8"));
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  const rssPages = Number(fields[21]);
  return { cpuSeconds: ticks / CLOCK_TICKS, rssBytes: rssPages * 4096 };
}

/** CPU ticks used so far by each process named postgres (every backend, and PostgreSQL's own processes). */
export function postgresTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (!stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).startsWith("postgres")) continue;
      const fields = statFields(stat);
      ticks.set(pid, Number(fields[11]) + Number(fields[12])); // utime, stime
    } catch {
      // the process ended while we looked
    }
  }
  return ticks;
}

/**
 * PostgreSQL's CPU seconds between two readings, per process: a backend that started meanwhile counts
 * from zero; one that ended meanwhile loses what it used after the first reading (pools rarely close
 * busy connections, so that is small).
 */
export function postgresSecondsBetween(a: Map<string, number>, b: Map<string, number>): number {
  let ticks = 0;
  for (const [pid, now] of b) ticks += now - (a.get(pid) ?? 0);
  return ticks / CLOCK_TICKS;
}

/** CPU seconds the whole machine has been busy (every core). */
export function machineBusySeconds(): number {
  // cpu  user nice system idle iowait irq softirq steal: all but idle and iowait is busy.
  const [user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8")
    .split("\n")[0]!
    .split(/\s+/)
    .slice(1)
    .map(Number) as number[];
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLOCK_TICKS;
}
