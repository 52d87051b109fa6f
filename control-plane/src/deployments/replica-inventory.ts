// The reconciler's control-plane half. Agents report the Slipway containers on their hosts; each is
// checked against the replica it was started for, and those no deployment wants are named for
// removal. A container is wanted while its replica is being started by that agent, and while it is
// the replica's serving container. Out of service (superseded, or its service stopped), it stays
// until the ingress has confirmed the route without it and the service's drain period has passed;
// any other container (its replica failed, was given up and started again elsewhere, or is gone
// with its deployment or service) goes at once: it never received traffic through the route.
//
// The other half: replicas whose agent stopped reporting are started again on agents that answer.
import { sql } from "kysely";
import type { Db } from "../db/database.js";
import type { Deployment, DeployWorkItem } from "../db/schema.js";
import { moveWork } from "../work/sql/move.js";
import { DEPLOY_TABLE } from "./deploy-work.js";
import { createDeployment, lockServiceDeployments } from "./deployment-repository.js";

export interface ReportedContainer {
  containerId: string;
  deploymentId: string;
  replicaIndex: number;
}

/** Records that the agent is alive and returns the ids of its containers to remove. */
export async function containersToRemove(
  db: Db,
  agentId: string,
  containers: readonly ReportedContainer[],
): Promise<string[]> {
  await db
    .updateTable("agents")
    .set({ inventory_at: sql<Date>`now()` })
    .where("id", "=", agentId)
    .execute();
  if (containers.length === 0) return [];
  const result = await sql<{ container_id: string }>`
    WITH reported AS (
      SELECT * FROM unnest(${containers.map((c) => c.containerId)}::text[],
                           ${containers.map((c) => c.deploymentId)}::text[],
                           ${containers.map((c) => c.replicaIndex)}::int[])
        AS r(container_id, deployment_id, replica_index)
    )
    SELECT r.container_id FROM reported r
    LEFT JOIN deploy_work_items i
      ON i.deployment_id::text = r.deployment_id AND i.replica_index = r.replica_index
    LEFT JOIN deployments d ON d.id = i.deployment_id
    LEFT JOIN services s ON s.id = d.service_id
    WHERE NOT coalesce(
      -- Being started by this agent: its container id is not known yet.
      (i.status IN ('claimed', 'pulling', 'starting') AND i.claimed_by = ${agentId})
      -- The replica's serving container.
      OR (i.status = 'running' AND i.claimed_by = ${agentId} AND i.container_id = r.container_id)
      -- Out of the route, draining.
      OR (i.status = 'superseded' AND i.claimed_by = ${agentId} AND i.container_id = r.container_id
          AND (i.unrouted_at IS NULL OR i.unrouted_at > now() - make_interval(secs => s.drain_seconds))),
      false)`.execute(db);
  return result.rows.map((row) => row.container_id);
}

/**
 * Serving replicas on agents that have not reported their containers for `silentSeconds` are lost:
 * the ingress stops routing to them at once, and the service gets a new deployment of the same
 * build, which starts every replica on agents that answer (and, once healthy, supersedes the rest).
 * Only agents that report at all are judged. Returns the deployments created.
 */
export async function replaceReplicasOfSilentAgents(db: Db, silentSeconds: number): Promise<Deployment[]> {
  return db.transaction().execute(async (trx) => {
    const lost = await moveWork<DeployWorkItem>(trx, DEPLOY_TABLE, {
      where: sql<boolean>`t.claimed_by IN (
        SELECT id FROM agents WHERE inventory_at < now() - make_interval(secs => ${silentSeconds}))`,
      from: ["running"],
      to: "lost",
      reason: `its agent has not reported for ${silentSeconds} s`,
      actor: "reconciler",
      ends: false,
    });
    const created: Deployment[] = [];
    for (const deploymentId of new Set(lost.map((item) => item.deployment_id))) {
      const deployment = await trx
        .selectFrom("deployments")
        .innerJoin("services", "services.id", "deployments.service_id")
        .select([
          "deployments.service_id",
          "deployments.build_id",
          "deployments.image_ref",
          "deployments.sequence",
          "services.replicas",
        ])
        .where("deployments.id", "=", deploymentId)
        .executeTakeFirstOrThrow();
      await lockServiceDeployments(trx, deployment.service_id);
      // A newer deployment on its way replaces these replicas anyway.
      const newer = await trx
        .selectFrom("deployments")
        .select("id")
        .where("service_id", "=", deployment.service_id)
        .where("sequence", ">", deployment.sequence)
        .where("finished_at", "is", null)
        .executeTakeFirst();
      if (newer) continue;
      created.push(
        await createDeployment(trx, {
          serviceId: deployment.service_id,
          buildId: deployment.build_id,
          imageRef: deployment.image_ref,
          replicas: deployment.replicas,
          createdBy: "reconciler",
          trigger: "replica_lost",
          triggerReason: `replicas lost: their agent has not reported for ${silentSeconds} s`,
        }),
      );
    }
    return created;
  });
}
