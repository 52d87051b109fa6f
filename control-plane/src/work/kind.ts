// What a kind of leased work (a build, a replica of a deployment, …) tells the core about itself.
// The core (work-queue.ts and the statements in sql/) enqueues, claims, advances, renews, finishes,
// releases, resumes, reaps and cancels every kind the same way; a kind supplies only what differs,
// in one file of its own module (builds/build-work.ts, deployments/deploy-work.ts).
//
// A kind's table has the columns every statement of the core reads and writes:
//   id uuid, status <its enum>, status_reason text, attempt int, claimed_by uuid (agents),
//   lease_token uuid, lease_expires_at timestamptz, claim_key text, lease_extended bool,
//   resumes smallint, created_at, started_at, finished_at timestamptz
// plus `max_attempts int` when given-back work is re-queued, and `cancel_requested_at timestamptz`
// when it can be cancelled while running. Its status enum has 'pending' (waiting for an agent),
// 'claimed' (the first leased status) and 'cancelled'. Its history table has
//   <work column> uuid, from_status, to_status, actor text, reason text, at timestamptz.
import type { RawBuilder, Transaction } from "kysely";
import type { Database } from "../db/schema.js";

/** The columns of a kind's table that the core reads. */
export interface WorkRow {
  id: string;
  status: string;
  status_reason: string | null;
  attempt: number;
  claimed_by: string | null;
  lease_token: string | null;
  lease_expires_at: Date | null;
  created_at: Date;
}

/** How a kind of work is stored and taken: everything the core's statements need, fixed in code. */
export interface WorkTable {
  /** Its name in NOTIFY payloads, logs and on the wire ("build", "deploy"). */
  readonly name: string;
  readonly table: string;
  /** Its status enum type in PostgreSQL. */
  readonly statusType: string;
  /** Where its status transitions are recorded, and the column naming the work item there. */
  readonly history: { readonly table: string; readonly workColumn: string };
  /** The statuses in which an agent holds the lease; the first is 'claimed'. */
  readonly leased: readonly string[];
  /** The phases an agent reports, each with the statuses it may follow (skipping is allowed). */
  readonly phases: Readonly<Record<string, readonly string[]>>;
  /** The order pending work is taken in (an index on the pending rows should give it). */
  readonly claimOrder: RawBuilder<unknown>;
  /**
   * Who may take pending work: `column` names the row it hangs off, and `rows` selects those rows
   * as `id, org_id, labels` (the organisation whose agents may take it, and the labels they must carry).
   */
  readonly owner: { readonly column: string; readonly rows: RawBuilder<unknown> };
  /** Whether running work can be asked to stop (the table has cancel_requested_at). */
  readonly cancellable: boolean;
  /**
   * Work its agent gave up (lease expired, released, or its agent restarted twice) goes back to
   * 'pending' while attempts remain when `requeue` (the table has max_attempts); otherwise, or
   * once they are spent, it ends as `givenUpStatus`.
   */
  readonly requeue: boolean;
  readonly givenUpStatus: string;
  /** Where its log chunks are kept, when it has a log. */
  readonly logs?: { readonly table: string; readonly workColumn: string };
  /**
   * What a claim also changes, as a data-modifying statement over the CTE `claimed` (the rows just
   * claimed), run in the claim's own statement.
   */
  readonly onClaim?: RawBuilder<unknown>;
  /**
   * What an agent needs beyond the row to run the work, as one json expression over the row
   * `work` (read in the same statement that claims or resumes it).
   */
  details(work: RawBuilder<unknown>): RawBuilder<unknown>;
}

/**
 * Thrown by a kind's `spec` when the work cannot be run as it stands and trying again would fail the
 * same way (its stored secrets no longer open, say): the core ends the item as failed with this
 * message as its reason, instead of handing it out again and again. The message must hold no secret.
 */
export class UnrunnableWorkError extends Error {
  override name = "UnrunnableWorkError";
}

/** An agent's report that it finished the work, before the kind has checked it. */
export interface WorkReport {
  outcome: "succeeded" | "failed" | "cancelled";
  /** The kind's own result message, when the agent sent one. */
  result: unknown;
  /** Why it failed, already cut to size and stripped of control characters. */
  error: string;
}

/** A terminal status with its reason, and the kind's own columns to set beside it. */
export interface WorkEnding {
  status: string;
  reason: string | null;
  set?: Readonly<Record<string, string | number | null>>;
}

/** A kind of work: how it is stored and taken, and what the agent gets and gives back. */
export interface WorkKind<Row extends WorkRow = WorkRow, Spec = unknown> extends WorkTable {
  /** The agent capability that takes it. */
  readonly capability: string;
  /** The spec an agent runs, from the row and its `details`; throws UnrunnableWorkError if it cannot be. */
  spec(row: Row, details: unknown): Spec;
  /** Checks an agent's report and turns it into an ending; throws a domain error when malformed. */
  ending(report: WorkReport): WorkEnding;
  /**
   * What follows when work ends in one of `statuses` (finished by its agent, or given up), in the
   * same transaction: a completed build is deployed, a replica's deployment is settled.
   */
  readonly onEnded?: {
    readonly statuses: readonly string[];
    run(trx: Transaction<Database>, rows: Row[]): Promise<void>;
  };
}

// Kinds are registered side by side, each with its own row and spec types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyWorkKind = WorkKind<any, unknown>;

/** Names one claim of one work item: what every write by its agent carries. */
export interface Lease {
  id: string;
  leaseToken: string;
  agentId: string;
}
