// Deployments: an image rolled out to every replica of a service, one leased work item per replica
// (deploy-work.ts). Deployments of a service are ordered by their sequence number, given under a
// lock on the service row: a newer one withdraws the replicas of older ones that have not started,
// and an agent removes only containers of strictly older deployments.
import { sql, type Kysely, type Transaction } from "kysely";
import type { Database, Deployment, DeploymentTrigger, DeployWorkItem } from "../db/schema.js";
import { enqueueWork } from "../work/sql/enqueue.js";
import { moveWork } from "../work/sql/move.js";
import { notifyWork } from "../work/sql/notify.js";
import { DEPLOY_TABLE, settleDeployments } from "./deploy-work.js";

/**
 * Takes the service's deployment lock until the transaction ends: deployments of one service are
 * decided one at a time (two builds completing at once must not both deploy).
 */
export async function lockServiceDeployments(trx: Transaction<Database>, serviceId: string): Promise<void> {
  // NO KEY UPDATE: it excludes itself, but not the KEY SHARE locks foreign-key checks take on the
  // row (FOR UPDATE here deadlocked two completions that both held one).
  await trx.selectFrom("services").select("id").where("id", "=", serviceId).forNoKeyUpdate().execute();
}

export interface NewDeployment {
  serviceId: string;
  buildId: string;
  /** The image by digest. */
  imageRef: string;
  /** 0 stops the service: the deployment succeeds at once and supersedes the serving replicas. */
  replicas: number;
  createdBy: string;
  trigger: DeploymentTrigger;
  triggerReason?: string | null | undefined;
}

/**
 * Creates the service's next deployment of an image (by digest) with one pending work item per
 * replica, and wakes deploy agents. Takes the service's deployment lock.
 */
export async function createDeployment(trx: Transaction<Database>, input: NewDeployment): Promise<Deployment> {
  await lockServiceDeployments(trx, input.serviceId);
  const deployment = await trx
    .insertInto("deployments")
    .values((eb) => ({
      service_id: input.serviceId,
      sequence: eb
        .selectFrom("deployments")
        .select(sql<number>`coalesce(max(sequence), 0) + 1`.as("next"))
        .where("service_id", "=", input.serviceId),
      build_id: input.buildId,
      image_ref: input.imageRef,
      created_by: input.createdBy,
      trigger: input.trigger,
      trigger_reason: input.triggerReason ?? null,
      replicas: input.replicas,
      reason: null,
      finished_at: null,
    }))
    .returningAll()
    .executeTakeFirstOrThrow();
  await enqueueWork<DeployWorkItem>(
    trx,
    DEPLOY_TABLE,
    Array.from({ length: input.replicas }, (_, replicaIndex) => ({
      deployment_id: deployment.id,
      replica_index: replicaIndex,
    })),
    input.createdBy,
  );
  // Replicas of older deployments not yet started will never be wanted: this one replaces them.
  const overtaken = await moveWork<DeployWorkItem>(trx, DEPLOY_TABLE, {
    where: sql<boolean>`t.deployment_id IN (
      SELECT id FROM deployments WHERE service_id = ${input.serviceId} AND sequence < ${deployment.sequence})`,
    from: ["pending"],
    to: "superseded",
    reason: `superseded by deployment ${deployment.id}`,
    actor: input.createdBy,
    ends: true,
  });
  await settleDeployments(trx, [...new Set(overtaken.map((item) => item.deployment_id))]);
  await notifyWork(trx, DEPLOY_TABLE.name);
  if (input.replicas > 0) return deployment;
  // No replica to wait for: it succeeds now, and the replicas of older deployments leave the route.
  await settleDeployments(trx, [deployment.id]);
  return trx.selectFrom("deployments").selectAll().where("id", "=", deployment.id).executeTakeFirstOrThrow();
}

/**
 * What the service runs, or is on its way to run: its newest deployment not failed nor cancelled
 * (undefined when there is none). Restarts and scaling start from its image. Call under the lock.
 */
export async function latestWantedDeployment(
  trx: Transaction<Database>,
  serviceId: string,
): Promise<Deployment | undefined> {
  return trx
    .selectFrom("deployments")
    .selectAll()
    .where("service_id", "=", serviceId)
    .where("status", "in", ["pending", "in_progress", "succeeded"])
    .orderBy("sequence", "desc")
    .limit(1)
    .executeTakeFirst();
}

/** The newest deployment that succeeded with replicas: what serves, or served before a stop. */
export async function lastServingDeployment(
  trx: Transaction<Database>,
  serviceId: string,
): Promise<Deployment | undefined> {
  return trx
    .selectFrom("deployments")
    .selectAll()
    .where("service_id", "=", serviceId)
    .where("status", "=", "succeeded")
    .where("replicas", ">", 0)
    .orderBy("sequence", "desc")
    .limit(1)
    .executeTakeFirst();
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

/** Each service's newest succeeded deployment, by service id (services without one are absent). */
export async function currentDeployments(db: Kysely<Database>, serviceIds: string[]): Promise<Map<string, string>> {
  if (serviceIds.length === 0) return new Map();
  const rows = await db
    .selectFrom("deployments")
    .select(["service_id", "id"])
    .distinctOn("service_id")
    .where("service_id", "in", serviceIds)
    .where("status", "=", "succeeded")
    .orderBy("service_id")
    .orderBy("sequence", "desc")
    .execute();
  return new Map(rows.map((row) => [row.service_id, row.id]));
}
