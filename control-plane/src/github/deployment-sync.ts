// Keeps GitHub Deployments in step with builds, in the background. For every outbox row
// (github_deployments) whose GitHub state lags what the build and its deployment say, a job creates
// the GitHub deployment if needed and posts the missing statuses in order:
//   queued → in_progress → success | failure | error (| inactive when overtaken)
// Jobs retry with backoff and honour GitHub's rate-limit headers; a build never waits for them.
import { sql } from "kysely";
import type { Db } from "../db/database.js";
import type { DeploymentState, GitHubApi } from "./github-api.js";

/** A deployment GitHub keeps refusing (deleted installation, revoked permission) is left alone. */
export const MAX_SYNC_ATTEMPTS = 20;

export interface LaggingDeployment {
  build_id: string;
  attempts: number;
  updated_at: Date;
  installation_id: string;
  repository: string;
  environment: string;
  deployment_id: string | null;
  last_state: string | null;
  desired: DeploymentState;
  commit_sha: string;
  service_id: string;
  status_reason: string | null;
}

/**
 * The GitHub state each build should show, from its status and its latest Slipway deployment. This
 * is the one place the mapping lives; both the reconciler and the sync job read it.
 */
function stateQuery(db: Db) {
  return db.selectFrom(
    sql<LaggingDeployment>`(
        SELECT gd.build_id, gd.installation_id, gd.repository, gd.environment, gd.deployment_id, gd.last_state,
               gd.attempts, gd.updated_at,
               b.commit_sha, b.service_id, coalesce(d.reason, b.status_reason) AS status_reason,
               CASE
                 WHEN b.status IN ('pending', 'claimed') THEN 'queued'
                 WHEN b.status IN ('cloning', 'building', 'pushing') THEN 'in_progress'
                 WHEN b.status = 'failed' THEN 'failure'
                 WHEN b.status = 'cancelled' THEN 'error'
                 -- Its service was stopped with it: nothing of it serves any more.
                 WHEN d.status = 'succeeded' AND d.replicas = 0 THEN 'inactive'
                 -- GitHub does not retire production deployments by itself: a newer one replaced it.
                 WHEN d.status = 'succeeded' AND EXISTS (
                   SELECT 1 FROM deployments nd
                   WHERE nd.service_id = b.service_id AND nd.status = 'succeeded' AND nd.sequence > d.sequence
                 ) THEN 'inactive'
                 WHEN d.status = 'succeeded' THEN 'success'
                 WHEN d.status = 'failed' THEN 'failure'
                 WHEN d.status = 'cancelled' THEN 'inactive'
                 WHEN d.status IS NOT NULL THEN 'in_progress'
                 -- Built, and nothing will deploy it: the service deploys by hand (and Deploy was not
                 -- pressed for it, or another build was deployed by hand since), or is stopped (and
                 -- Deploy was not pressed for this build after the stop). See deployments/auto-deploy.ts.
                 WHEN (NOT s.auto_deploy AND b.deploy_requested_by IS NULL)
                   OR (s.stopped_at IS NOT NULL AND (b.deploy_requested_at IS NULL OR b.deploy_requested_at < s.stopped_at))
                   OR (NOT s.auto_deploy AND EXISTS (
                     SELECT 1 FROM deployments md
                     WHERE md.service_id = b.service_id AND md.trigger IN ('manual', 'rollback')
                       AND md.created_at > b.deploy_requested_at))
                   THEN 'success'
                 WHEN EXISTS (
                   SELECT 1 FROM deployments nd JOIN builds nb ON nb.id = nd.build_id
                   WHERE nd.service_id = b.service_id AND nb.created_at > b.created_at
                 ) THEN 'inactive'
                 ELSE 'in_progress'
               END AS desired
        FROM github_deployments gd
        JOIN builds b ON b.id = gd.build_id
        JOIN github_installations gi ON gi.id = gd.installation_id
          AND gi.deleted_at IS NULL AND gi.suspended_at IS NULL
        JOIN services s ON s.id = b.service_id
        LEFT JOIN LATERAL (
          SELECT status, reason, sequence, replicas FROM deployments WHERE build_id = b.id
          ORDER BY sequence DESC LIMIT 1
        ) d ON true
      )`.as("lag"),
  );
}

/** The GitHub state a build's deployment should show (undefined when it has none to mirror). */
export async function desiredGitHubState(db: Db, buildId: string): Promise<DeploymentState | undefined> {
  const row = await stateQuery(db).select("lag.desired").where("lag.build_id", "=", buildId).executeTakeFirst();
  return row?.desired;
}

/** Rows whose GitHub state lags what the build and its deployment say. */
function laggingQuery(db: Db) {
  return (
    stateQuery(db)
      .selectAll()
      .whereRef("lag.desired", "is distinct from", "lag.last_state")
      // Nothing can move a finished GitHub deployment but success → inactive.
      .where((eb) =>
        eb.or([
          eb("lag.last_state", "is", null),
          eb("lag.last_state", "not in", ["success", "failure", "error", "inactive"]),
          eb.and([eb("lag.last_state", "=", "success"), eb("lag.desired", "=", "inactive")]),
        ]),
      )
  );
}

/** Builds whose GitHub deployment lags, least recently tried first; given up after MAX_ATTEMPTS. */
export async function laggingDeployments(db: Db, limit: number): Promise<string[]> {
  const rows = await laggingQuery(db)
    .select("lag.build_id")
    .where("lag.attempts", "<", MAX_SYNC_ATTEMPTS)
    .orderBy("lag.updated_at")
    .limit(limit)
    .execute();
  return rows.map((r) => r.build_id);
}

const ORDER: DeploymentState[] = ["queued", "in_progress"];
const TERMINAL = new Set<string>(["success", "failure", "error", "inactive"]);

/** The statuses to post, in order, to move GitHub from `last` to `desired`. */
export function statusesToPost(last: string | null, desired: DeploymentState): DeploymentState[] {
  if (last !== null && TERMINAL.has(last)) return desired === "inactive" && last === "success" ? ["inactive"] : [];
  const start = last === null ? 0 : ORDER.indexOf(last as DeploymentState) + 1;
  const steps = ORDER.slice(start, TERMINAL.has(desired) ? ORDER.length : ORDER.indexOf(desired) + 1);
  return TERMINAL.has(desired) ? [...steps, desired] : steps;
}

const DESCRIPTIONS: Record<DeploymentState, string> = {
  queued: "Waiting for a Slipway agent",
  in_progress: "Building and deploying",
  success: "Deployed",
  failure: "Failed",
  error: "Cancelled",
  inactive: "Replaced by a newer deployment",
};

export interface SyncOptions {
  publicUrl: string;
}

/** Brings one build's GitHub deployment up to date. Safe to run again after any failure. */
export async function syncDeployment(db: Db, github: GitHubApi, buildId: string, options: SyncOptions): Promise<void> {
  const row = await laggingQuery(db).where("lag.build_id", "=", buildId).executeTakeFirst();
  if (!row) return;
  const installationId = Number(row.installation_id);
  const base = options.publicUrl.replace(/\/$/, "");
  let deploymentId = row.deployment_id === null ? null : Number(row.deployment_id);
  if (deploymentId === null) {
    deploymentId = await github.createDeployment(installationId, row.repository, {
      ref: row.commit_sha,
      environment: row.environment,
      description: `Slipway build ${row.build_id}`,
      payload: { slipway_build_id: row.build_id },
    });
    // Kept at once: a retry after a later failure must not create a second deployment.
    await db
      .updateTable("github_deployments")
      .set({ deployment_id: deploymentId })
      .where("build_id", "=", buildId)
      .execute();
  }
  for (const state of statusesToPost(row.last_state, row.desired)) {
    const reason = state === "failure" && row.status_reason ? `: ${row.status_reason}` : "";
    await github.createDeploymentStatus(installationId, row.repository, deploymentId, {
      state,
      logUrl: `${base}/builds/${row.build_id}`,
      environmentUrl: `${base}/services/${row.service_id}`,
      description: `${DESCRIPTIONS[state]}${reason}`,
    });
    await db
      .updateTable("github_deployments")
      .set({ last_state: state, last_error: null, attempts: 0, updated_at: sql<Date>`now()` })
      .where("build_id", "=", buildId)
      .execute();
  }
}

/** Records why a sync attempt failed, for the operator (the job itself retries). */
export async function recordSyncFailure(db: Db, buildId: string, message: string): Promise<void> {
  await db
    .updateTable("github_deployments")
    .set((eb) => ({
      last_error: message.slice(0, 500),
      attempts: eb("attempts", "+", 1),
      updated_at: sql<Date>`now()`,
    }))
    .where("build_id", "=", buildId)
    .execute();
}
