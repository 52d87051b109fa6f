// What an executor (build, deploy) is given, and what it returns.
//
// Lifecycle: the agent claims work, creates a WorkContext and calls the executor. The executor
// reports phases, writes its log, honours ctx.signal (aborted when the lease is lost or the agent
// stops), cleans up after itself in every case, and returns its result. The agent alone completes
// the work on the control plane, after the log is flushed.
import type { CompleteRequest, WorkPhase, WorkRef } from "@slipway/proto";
import type { LogShipper } from "./logs/log-shipper.js";

export interface GitCredentials {
  username: string;
  password: string;
}

export interface WorkContext {
  ref: WorkRef;
  signal: AbortSignal;
  reportPhase(phase: WorkPhase): Promise<void>;
  log: LogShipper;
  /** Credentials to fetch the build's repository, minted for this build; undefined when none are needed. */
  gitCredentials(): Promise<GitCredentials | undefined>;
}

export type WorkResult =
  { outcome: "succeeded"; result: CompleteRequest["result"] } | { outcome: "failed"; error: string };

/** A failure whose message is meant for the user as it is. */
export class WorkFailure extends Error {
  override name = "WorkFailure";
}
