// Deployments and their per-replica work items. An item is claimed by a deploy agent with the same
// lease machinery as builds; every write after the claim is fenced by the item's lease token.
import { sql, type Transaction } from "kysely";
import type { Db } from "../db/database.js";
import type { Database, Deployment, DeployItemStatus, DeployWorkItem } from "../db/schema.js";
import {
  DEPLOY_ITEM_LEASES,
  LeaseLostError,
  holdsLease,
  renewLeases,
  resumeLease,
  type Executor,
  type ResumeDecision,
} from "../leases/leases.js";

export const LEASED_DEPLOY_ITEM_STATUSES = DEPLOY_ITEM_LEASES.leased;

export type DeployPhase = "pulling" | "starting";

const PHASE_PREDECESSORS: Record<DeployPhase, DeployItemStatus[]> = {
  pulling: ["claimed"],
  starting: ["claimed", "pulling"],
};

/** Creates a deployment of an image with one pending work item per replica. */
export async function createDeployment(
  trx: Transaction<Database>,
  input: { serviceId: string; buildId: string; imageRef: string; replicas: number; createdBy: string },
): Promise<Deployment> {
  const deployment = await trx
    .insertInto("deployments")
    .values({
      service_id: input.serviceId,
      build_id: input.buildId,
      image_ref: input.imageRef,
      created_by: input.createdBy,
      reason: null,
      finished_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await trx
    .insertInto("deploy_work_items")
    .values(
      Array.from({ length: input.replicas }, (_, replicaIndex) => ({
        deployment_id: deployment.id,
        replica_index: replicaIndex,
        status_reason: null,
        claimed_by: null,
        lease_token: null,
        lease_expires_at: null,
        container_id: null,
        endpoint_host: null,
        endpoint_port: null,
        started_at: null,
        finished_at: null,
      })),
    )
    .execute();
  // Replicas of older deployments not yet started will never be wanted: this one replaces them.
  const overtaken = await trx
    .updateTable("deploy_work_items")
    .set({
      status: "superseded",
      status_reason: `superseded by deployment ${deployment.id}`,
      finished_at: sql<Date>`now()`,
    })
    .where("status", "=", "pending")
    .where("deployment_id", "in", (eb) =>
      eb
        .selectFrom("deployments")
        .select("id")
        .where("service_id", "=", input.serviceId)
        .where("id", "!=", deployment.id),
    )
    .returning("deployment_id")
    .execute();
  for (const id of new Set(overtaken.map((row) => row.deployment_id))) await settleDeployment(trx, id);
  return deployment;
}

/** Whether the service already has a live or finished deployment of a build newer than `buildId`. */
export async function hasNewerDeployment(
  trx: Transaction<Database>,
  serviceId: string,
  buildId: string,
): Promise<boolean> {
  const row = await trx
    .selectFrom("deployments")
    .innerJoin("builds as deployed", "deployed.id", "deployments.build_id")
    .select("deployments.id")
    .where("deployments.service_id", "=", serviceId)
    .where("deployments.status", "in", ["pending", "in_progress", "succeeded"])
    .where("deployed.created_at", ">", (eb) => eb.selectFrom("builds").select("created_at").where("id", "=", buildId))
    .executeTakeFirst();
  return row !== undefined;
}

/** The deploy item an earlier claim with this key gave the agent, while it still holds it. */
export async function findClaimedDeployItem(
  db: Executor,
  agentId: string,
  claimKey: string,
): Promise<DeployWorkItem | undefined> {
  return db
    .selectFrom("deploy_work_items")
    .selectAll()
    .where("claimed_by", "=", agentId)
    .where("claim_key", "=", claimKey)
    .where("status", "in", [...LEASED_DEPLOY_ITEM_STATUSES])
    .executeTakeFirst();
}

/**
 * Claims the oldest pending replica item the agent may take (its organisation's, of a service whose
 * required deploy labels it carries), FOR UPDATE SKIP LOCKED, stamped with `claimKey` (see
 * findClaimedDeployItem), and marks its deployment in progress.
 */
export async function claimNextDeployItem(
  db: Executor,
  agentId: string,
  leaseSeconds: number,
  claimKey: string | null = null,
): Promise<DeployWorkItem | undefined> {
  const result = await sql<DeployWorkItem>`
    WITH next AS (
      SELECT id FROM deploy_work_items
      WHERE status = 'pending'
        AND deployment_id IN (
          SELECT d.id FROM deployments d
          JOIN services s ON s.id = d.service_id
          JOIN projects p ON p.id = s.project_id
          JOIN agents a ON a.org_id = p.org_id
          WHERE a.id = ${agentId} AND s.deploy_agent_labels <@ a.labels
        )
      ORDER BY created_at, replica_index
      LIMIT 1
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE deploy_work_items w
      SET status = 'claimed',
          claimed_by = ${agentId},
          claim_key = ${claimKey},
          attempt = w.attempt + 1,
          resumes = 0,
          lease_token = gen_random_uuid(),
          lease_expires_at = now() + make_interval(secs => ${leaseSeconds}),
          started_at = now()
      FROM next
      WHERE w.id = next.id
      RETURNING w.*
    ), deployment AS (
      UPDATE deployments d SET status = 'in_progress'
      FROM claimed WHERE d.id = claimed.deployment_id AND d.status = 'pending'
    )
    SELECT * FROM claimed`.execute(db);
  return result.rows[0];
}

export async function advanceDeployItem(
  db: Executor,
  input: { id: string; leaseToken: string; agentId: string; phase: DeployPhase },
): Promise<void> {
  const moved = await db
    .updateTable("deploy_work_items")
    .set({ status: input.phase })
    .where("id", "=", input.id)
    .where("lease_token", "=", input.leaseToken)
    .where("claimed_by", "=", input.agentId)
    .where("status", "in", PHASE_PREDECESSORS[input.phase])
    .executeTakeFirst();
  if (moved.numUpdatedRows > 0n) return;
  if (!(await holdsLease(db, DEPLOY_ITEM_LEASES, input))) throw new LeaseLostError(input.id);
}

export type DeployItemOutcome =
  | { status: "running"; containerId: string; host: string; port: number }
  | { status: "failed"; reason: string }
  | { status: "cancelled"; reason: string }
  /** Ended without knowing whether its container runs: left for reconciliation, never re-run. */
  | { status: "lost"; reason: string };

/**
 * Ends one replica's item. When the last item of a deployment ends, the deployment ends too:
 * succeeded when every replica runs (and the service's older running replicas become superseded),
 * failed otherwise.
 */
export async function finishDeployItem(
  trx: Transaction<Database>,
  input: { id: string; leaseToken: string; agentId: string; outcome: DeployItemOutcome },
): Promise<DeployWorkItem> {
  const { outcome } = input;
  const running = outcome.status === "running" ? outcome : undefined;
  const item = await trx
    .updateTable("deploy_work_items")
    .set({
      status: outcome.status,
      status_reason: outcome.status === "running" ? null : outcome.reason,
      container_id: running?.containerId ?? null,
      endpoint_host: running?.host ?? null,
      endpoint_port: running?.port ?? null,
      lease_expires_at: null,
      finished_at: sql<Date>`now()`,
    })
    .where("id", "=", input.id)
    .where("lease_token", "=", input.leaseToken)
    .where("claimed_by", "=", input.agentId)
    .where("status", "in", [...LEASED_DEPLOY_ITEM_STATUSES])
    .returningAll()
    .executeTakeFirst();
  if (!item) throw new LeaseLostError(input.id);
  await settleDeployment(trx, item.deployment_id);
  return item;
}

/** Ends a deployment whose items have all ended; a no-op while any replica is still on its way. */
async function settleDeployment(trx: Transaction<Database>, deploymentId: string): Promise<void> {
  const deployment = await trx
    .selectFrom("deployments")
    .selectAll()
    .where("id", "=", deploymentId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const items = await trx
    .selectFrom("deploy_work_items")
    .select(["status", "status_reason"])
    .where("deployment_id", "=", deploymentId)
    .execute();
  const unfinished = items.some(
    (i) => i.status === "pending" || (LEASED_DEPLOY_ITEM_STATUSES as readonly string[]).includes(i.status),
  );
  if (unfinished || deployment.finished_at) return;
  const failure = items.find((i) => i.status !== "running" && i.status !== "superseded");
  const overtaken = !failure && items.some((i) => i.status === "superseded");
  await trx
    .updateTable("deployments")
    .set({
      status: failure ? "failed" : overtaken ? "cancelled" : "succeeded",
      reason: failure
        ? `replica ${failure.status}: ${failure.status_reason ?? "no reason given"}`
        : overtaken
          ? "superseded by a newer deployment before it finished"
          : null,
      finished_at: sql<Date>`now()`,
    })
    .where("id", "=", deploymentId)
    .execute();
  if (failure || overtaken) return;
  // The new replicas serve now: the service's earlier running replicas are superseded.
  await trx
    .updateTable("deploy_work_items")
    .set({ status: "superseded" })
    .where("status", "=", "running")
    .where("deployment_id", "in", (eb) =>
      eb
        .selectFrom("deployments")
        .select("id")
        .where("service_id", "=", deployment.service_id)
        .where("id", "!=", deploymentId)
        .where("created_at", "<=", deployment.created_at),
    )
    .execute();
}

export const renewDeployLeases = (
  db: Executor,
  agentId: string,
  held: { id: string; leaseToken: string }[],
  leaseSeconds: number,
) => renewLeases(db, DEPLOY_ITEM_LEASES, agentId, held, leaseSeconds);

/**
 * An expired deploy item becomes `lost`: a container may or may not be running for it, so it is
 * left for reconciliation and never silently re-run.
 */
export async function reapExpiredDeployItems(db: Db): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const lost = await sql<{ deployment_id: string }>`
      UPDATE deploy_work_items w
      SET status = 'lost', status_reason = 'the agent stopped answering', lease_token = NULL,
          lease_expires_at = NULL, finished_at = now()
      WHERE w.id IN (
        SELECT id FROM deploy_work_items
        WHERE status = ANY(${[...LEASED_DEPLOY_ITEM_STATUSES]}::deploy_item_status[]) AND lease_expires_at < now()
        FOR UPDATE SKIP LOCKED
      )
      RETURNING w.deployment_id`.execute(trx);
    for (const deploymentId of new Set(lost.rows.map((r) => r.deployment_id))) {
      await settleDeployment(trx, deploymentId);
    }
    return lost.rows.length;
  });
}

/**
 * A replica item its agent held before restarting. A live claim not resumed before is run again
 * under a new lease token (the agent adopts the container the first run may have started); a spent
 * one becomes `lost`, as an expired one does.
 */
export async function resumeDeployItem(
  trx: Transaction<Database>,
  lease: { id: string; leaseToken: string; agentId: string },
  leaseSeconds: number,
  resumeKey: string,
): Promise<ResumeDecision<DeployWorkItem>> {
  const taken = await resumeLease<DeployItemStatus, DeployWorkItem>(
    trx,
    DEPLOY_ITEM_LEASES,
    lease,
    leaseSeconds,
    resumeKey,
  );
  switch (taken.state) {
    case "gone":
    case "cancel-requested": // deploy items are not cancelled one by one
      return { verdict: "lost", reason: "this claim no longer holds the replica", gaveBack: false };
    case "spent":
      await finishDeployItem(trx, { ...lease, outcome: { status: "lost", reason: taken.reason } });
      return { verdict: "lost", reason: `${taken.reason}; the replica is left for reconciliation`, gaveBack: true };
    case "resumed":
      return { verdict: "continue", row: taken.row, nextLogSeq: 0 };
  }
}
