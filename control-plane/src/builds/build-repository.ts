// Every write to `builds` happens here, as a guarded statement that records its transition in
// build_status_history. A zero-row update means the caller no longer owns the build.
import { sql, type RawBuilder, type Transaction } from "kysely";
import {
  BUILD_LEASES,
  LeaseLostError,
  holdsLease,
  renewLeases,
  resumeLease,
  type Executor,
  type ResumeDecision,
} from "../leases/leases.js";
import type { Build, BuildStatus, Database } from "../db/schema.js";
import { LEASED_BUILD_STATUSES, PHASE_PREDECESSORS, isTerminalBuildStatus, type AgentPhase } from "./build-status.js";
import type { Db } from "../db/database.js";

export { LeaseLostError } from "../leases/leases.js";

export interface NewBuildInput {
  serviceId: string;
  commitSha: string;
  branch: string;
  commitMessage?: string;
  trigger: "push" | "manual" | "retry";
  deliveryId?: string | null;
  retryOf?: string | null;
  actor: string;
}

/** Inserts a pending build and its first history row; call inside the caller's transaction. */
export async function insertBuild(trx: Transaction<Database>, input: NewBuildInput): Promise<Build> {
  const build = await trx
    .insertInto("builds")
    .values({
      service_id: input.serviceId,
      commit_sha: input.commitSha,
      branch: input.branch,
      commit_message: input.commitMessage ?? "",
      trigger: input.trigger,
      delivery_id: input.deliveryId ?? null,
      retry_of: input.retryOf ?? null,
      status_reason: null,
      claimed_by: null,
      lease_token: null,
      lease_expires_at: null,
      cancel_requested_at: null,
      image_ref: null,
      image_digest: null,
      started_at: null,
      finished_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await trx
    .insertInto("build_status_history")
    .values({ build_id: build.id, from_status: null, to_status: "pending", actor: input.actor, reason: null })
    .execute();
  return build;
}

/** The build an earlier claim with this key gave the agent, while it still holds it. */
export async function findClaimedBuild(db: Executor, agentId: string, claimKey: string): Promise<Build | undefined> {
  return db
    .selectFrom("builds")
    .selectAll()
    .where("claimed_by", "=", agentId)
    .where("claim_key", "=", claimKey)
    .where("status", "in", [...LEASED_BUILD_STATUSES])
    .executeTakeFirst();
}

/**
 * Claims the oldest pending build the agent may take (its organisation's, of a service whose
 * required build labels it carries): one statement that locks the row with FOR UPDATE SKIP LOCKED
 * (so racing claimers never wait on or get the same row), stamps the claim (with `claimKey`, which
 * findClaimedBuild looks up when the same claim is asked again), and records the transition.
 */
export async function claimNextBuild(
  db: Executor,
  agentId: string,
  leaseSeconds: number,
  claimKey: string | null = null,
): Promise<Build | undefined> {
  const result = await sql<Build>`
    WITH next AS (
      SELECT id FROM builds
      WHERE status = 'pending'
        AND service_id IN (
          SELECT s.id FROM services s
          JOIN projects p ON p.id = s.project_id
          JOIN agents a ON a.org_id = p.org_id
          WHERE a.id = ${agentId} AND s.build_agent_labels <@ a.labels
        )
      ORDER BY created_at, id
      LIMIT 1
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE builds b
      SET status = 'claimed',
          claimed_by = ${agentId},
          claim_key = ${claimKey},
          attempt = b.attempt + 1,
          resumes = 0,
          lease_token = gen_random_uuid(),
          lease_expires_at = now() + make_interval(secs => ${leaseSeconds}),
          started_at = coalesce(b.started_at, now())
      FROM next
      WHERE b.id = next.id
      RETURNING b.*
    ), history AS (
      INSERT INTO build_status_history (build_id, from_status, to_status, actor, reason)
      SELECT id, 'pending', 'claimed', ${"agent:" + agentId}, 'attempt ' || attempt FROM claimed
    )
    SELECT * FROM claimed`.execute(db);
  return result.rows[0];
}

/**
 * Moves a build the agent holds into `phase`. A repeated or out-of-order report for a build the
 * agent still holds changes nothing; a report on a lost lease throws LeaseLostError.
 */
export async function advanceBuild(
  db: Executor,
  input: { id: string; leaseToken: string; agentId: string; phase: AgentPhase },
): Promise<void> {
  const actor = `agent:${input.agentId}`;
  const from = PHASE_PREDECESSORS[input.phase];
  const moved = await sql<{ from_status: BuildStatus }>`
    WITH old AS (
      SELECT id, status FROM builds
      WHERE id = ${input.id} AND lease_token = ${input.leaseToken} AND claimed_by = ${input.agentId}
      FOR UPDATE
    ), moved AS (
      UPDATE builds b SET status = ${input.phase}::build_status
      FROM old
      WHERE b.id = old.id AND old.status = ANY(${from}::build_status[])
      RETURNING b.id, old.status AS from_status
    )
    INSERT INTO build_status_history (build_id, from_status, to_status, actor)
    SELECT id, from_status, ${input.phase}::build_status, ${actor} FROM moved
    RETURNING from_status`.execute(db);
  if (moved.rows.length > 0) return;
  if (!(await holdsLease(db, BUILD_LEASES, input))) throw new LeaseLostError(input.id);
}

export type BuildOutcome =
  | { status: "completed"; imageRef: string; imageDigest: string }
  | { status: "failed"; reason: string }
  | { status: "cancelled"; reason: string };

/**
 * Ends a build the agent holds. The first terminal write wins: a second completion with the same
 * lease finds the build terminal and throws LeaseLostError, changing nothing.
 */
export async function finishBuild(
  db: Executor,
  input: { id: string; leaseToken: string; agentId: string; outcome: BuildOutcome },
): Promise<Build> {
  const actor = `agent:${input.agentId}`;
  const { outcome } = input;
  const reason = outcome.status === "completed" ? null : outcome.reason;
  const imageRef = outcome.status === "completed" ? outcome.imageRef : null;
  const imageDigest = outcome.status === "completed" ? outcome.imageDigest : null;
  const result = await sql<Build & { from_status: BuildStatus }>`
    WITH old AS (
      SELECT id, status FROM builds
      WHERE id = ${input.id} AND lease_token = ${input.leaseToken} AND claimed_by = ${input.agentId}
        AND status = ANY(${[...LEASED_BUILD_STATUSES]}::build_status[])
      FOR UPDATE
    ), finished AS (
      UPDATE builds b
      SET status = ${outcome.status}::build_status,
          status_reason = ${reason},
          image_ref = coalesce(${imageRef}, b.image_ref),
          image_digest = coalesce(${imageDigest}, b.image_digest),
          lease_expires_at = NULL,
          finished_at = now()
      FROM old
      WHERE b.id = old.id
      RETURNING b.*, old.status AS from_status
    ), history AS (
      INSERT INTO build_status_history (build_id, from_status, to_status, actor, reason)
      SELECT id, from_status, status, ${actor}, status_reason FROM finished
    )
    SELECT * FROM finished`.execute(db);
  const build = result.rows[0];
  if (!build) throw new LeaseLostError(input.id);
  return build;
}

/** Extends the lease of every build the agent still holds; returns the new expiry by leaseKey. */
export const renewBuildLeases = (
  db: Executor,
  agentId: string,
  held: { id: string; leaseToken: string }[],
  leaseSeconds: number,
) => renewLeases(db, BUILD_LEASES, agentId, held, leaseSeconds);

/**
 * A build its agent gave up (lease expired, or handed back) goes back to the queue; it ends instead
 * when a cancel was asked for (cancelled) or its last attempt is spent (failed). `held` selects the
 * builds, locked FOR UPDATE; one statement moves them and writes their history.
 */
async function giveBack(
  db: Executor,
  held: RawBuilder<unknown>,
  how: { actor: string; cancelReason: string; failReason: string; historyReason: RawBuilder<string> },
): Promise<BuildStatus[]> {
  const result = await sql<{ status: BuildStatus }>`
    WITH held AS (${held}), back AS (
      UPDATE builds b
      SET status = CASE
            WHEN b.cancel_requested_at IS NOT NULL THEN 'cancelled'
            WHEN b.attempt >= b.max_attempts THEN 'failed'
            ELSE 'pending' END::build_status,
          status_reason = CASE
            WHEN b.cancel_requested_at IS NOT NULL THEN ${how.cancelReason}::text
            WHEN b.attempt >= b.max_attempts THEN ${how.failReason}::text || ' on attempt ' || b.attempt || ' of ' || b.max_attempts
            ELSE NULL END,
          finished_at = CASE WHEN b.cancel_requested_at IS NOT NULL OR b.attempt >= b.max_attempts THEN now() ELSE NULL END,
          claimed_by = NULL, lease_token = NULL, lease_expires_at = NULL
      FROM held
      WHERE b.id = held.id
      RETURNING b.id, b.status, held.status AS from_status, b.attempt
    ), history AS (
      INSERT INTO build_status_history (build_id, from_status, to_status, actor, reason)
      SELECT id, from_status, status, ${how.actor}, ${how.historyReason} FROM back
    )
    SELECT status FROM back`.execute(db);
  return result.rows.map((row) => row.status);
}

/**
 * Re-queues builds whose lease expired, or fails them once they have used max_attempts. Safe to run
 * on several control planes at once: SKIP LOCKED hands each expired build to one reaper.
 */
export async function reapExpiredBuilds(db: Executor): Promise<{ requeued: number; failed: number }> {
  const statuses = await giveBack(
    db,
    sql`SELECT id, status FROM builds
        WHERE status = ANY(${[...LEASED_BUILD_STATUSES]}::build_status[]) AND lease_expires_at < now()
        FOR UPDATE SKIP LOCKED`,
    {
      actor: "system:reaper",
      cancelReason: "cancelled; the agent stopped answering before it confirmed",
      failReason: "the agent stopped answering",
      historyReason: sql<string>`'lease expired on attempt ' || attempt`,
    },
  );
  const failed = statuses.filter((status) => status !== "pending").length;
  return { requeued: statuses.length - failed, failed };
}

export type CancelResult =
  | { outcome: "cancelled"; build: Build }
  | { outcome: "requested"; build: Build }
  | { outcome: "finished"; build: Build };

/**
 * Cancels a build. A pending build ends at once; a running one is marked and its agent is told
 * (NOTIFY slipway_cancel, and every heartbeat reply until it stops); a finished one is left alone.
 */
export async function requestCancel(db: Db, buildId: string, actor: string): Promise<CancelResult | undefined> {
  return db.transaction().execute(async (trx) => {
    const build = await trx.selectFrom("builds").selectAll().where("id", "=", buildId).forUpdate().executeTakeFirst();
    if (!build) return undefined;
    if (isTerminalBuildStatus(build.status)) return { outcome: "finished", build };
    if (build.status === "pending") {
      const cancelled = await trx
        .updateTable("builds")
        .set({ status: "cancelled", status_reason: "cancelled before it started", finished_at: sql<Date>`now()` })
        .where("id", "=", buildId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .insertInto("build_status_history")
        .values({
          build_id: buildId,
          from_status: "pending",
          to_status: "cancelled",
          actor,
          reason: "cancelled before it started",
        })
        .execute();
      return { outcome: "cancelled", build: cancelled };
    }
    const marked = await trx
      .updateTable("builds")
      .set({ cancel_requested_at: sql<Date>`coalesce(cancel_requested_at, now())` })
      .where("id", "=", buildId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await sql`SELECT pg_notify('slipway_cancel', ${JSON.stringify({ kind: "build", id: buildId, agentId: build.claimed_by })})`.execute(
      trx,
    );
    return { outcome: "requested", build: marked };
  });
}

/** The builds among `ids` whose cancellation was requested. */
export async function cancelRequested(db: Executor, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom("builds")
    .select("id")
    .where("id", "in", ids)
    .where("cancel_requested_at", "is not", null)
    .execute();
  return new Set(rows.map((r) => r.id));
}

/**
 * The agent gives a build back unfinished (it restarted, or is stopping): the reaper's outcomes,
 * without waiting for the lease to expire.
 */
export async function releaseBuild(
  db: Executor,
  lease: { id: string; leaseToken: string; agentId: string; reason: string },
): Promise<void> {
  const statuses = await giveBack(
    db,
    sql`SELECT id, status FROM builds
        WHERE id = ${lease.id} AND lease_token = ${lease.leaseToken} AND claimed_by = ${lease.agentId}
          AND status = ANY(${[...LEASED_BUILD_STATUSES]}::build_status[])
        FOR UPDATE`,
    {
      actor: `agent:${lease.agentId}`,
      cancelReason: "cancelled by a user",
      failReason: lease.reason,
      historyReason: sql<string>`${lease.reason}`,
    },
  );
  if (statuses.length === 0) throw new LeaseLostError(lease.id);
}

/**
 * A build its agent held before restarting. A live claim not resumed before starts over as the same
 * attempt under a new lease token (its log goes on after what was stored); a spent one is given back
 * like a released build (re-queued, or failed on its last attempt); a cancelled one is for the agent
 * to complete.
 */
export async function resumeBuild(
  trx: Transaction<Database>,
  lease: { id: string; leaseToken: string; agentId: string },
  leaseSeconds: number,
  resumeKey: string,
): Promise<ResumeDecision<Build>> {
  const taken = await resumeLease<BuildStatus, Build>(trx, BUILD_LEASES, lease, leaseSeconds, resumeKey);
  switch (taken.state) {
    case "gone":
      return { verdict: "lost", reason: "this claim no longer holds the build", gaveBack: false };
    case "cancel-requested":
      return { verdict: "cancel" };
    case "spent":
      await releaseBuild(trx, { ...lease, reason: taken.reason });
      return { verdict: "lost", reason: `${taken.reason}; it was given back`, gaveBack: true };
    case "resumed": {
      const build = taken.row;
      if (!taken.repeated) {
        await trx
          .insertInto("build_status_history")
          .values({
            build_id: build.id,
            from_status: taken.from as BuildStatus,
            to_status: "claimed",
            actor: `agent:${lease.agentId}`,
            reason: `the agent restarted; attempt ${build.attempt} starts over`,
          })
          .execute();
      }
      const { next } = await trx
        .selectFrom("build_log_chunks")
        .select(sql<number>`coalesce(max(seq), 0) + 1`.as("next"))
        .where("build_id", "=", build.id)
        .where("attempt", "=", build.attempt)
        .executeTakeFirstOrThrow();
      return { verdict: "continue", row: build, nextLogSeq: Number(next) };
    }
  }
}
