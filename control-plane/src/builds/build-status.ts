// The build status machine, readable in one place:
//
//   pending → claimed → cloning → building → pushing → completed | failed | cancelled
//
// An agent moves a build forward only while it holds the build's lease; the reaper puts a build whose
// lease expired back to pending (or fails it after max_attempts); a cancel ends any non-terminal build.
// The statements that make these moves are the work core's (work/sql/), for builds as for every
// kind of work; builds/build-work.ts tells the core these states.
import type { BuildStatus } from "../db/schema.js";

export const TERMINAL_BUILD_STATUSES = ["completed", "failed", "cancelled"] as const satisfies BuildStatus[];

/** The states in which an agent holds the build's lease. */
export const LEASED_BUILD_STATUSES = ["claimed", "cloning", "building", "pushing"] as const satisfies BuildStatus[];

export type AgentPhase = "cloning" | "building" | "pushing";

/** From which states an agent may move a build into each phase. Skipping a phase is allowed. */
export const PHASE_PREDECESSORS: Record<AgentPhase, BuildStatus[]> = {
  cloning: ["claimed"],
  building: ["claimed", "cloning"],
  pushing: ["claimed", "cloning", "building"],
};

export function isTerminalBuildStatus(status: BuildStatus): boolean {
  return (TERMINAL_BUILD_STATUSES as readonly BuildStatus[]).includes(status);
}
