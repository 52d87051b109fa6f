import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type, type Static } from "typebox";
import type { Db } from "../db/database.js";
import type { Deployment, DeployWorkItem } from "../db/schema.js";
import { notFound } from "../errors.js";
import { getService } from "../projects/project-repository.js";
import { Uuid } from "../projects/schemas.js";

const ReplicaView = Type.Object({
  replicaIndex: Type.Integer(),
  status: Type.String(),
  statusReason: Type.Union([Type.String(), Type.Null()]),
  agentId: Type.Union([Type.String(), Type.Null()]),
  containerId: Type.Union([Type.String(), Type.Null()]),
  /** Where the replica answers, as host:port on its agent's host. */
  endpoint: Type.Union([Type.String(), Type.Null()]),
});

const DeploymentView = Type.Object({
  id: Type.String(),
  serviceId: Type.String(),
  buildId: Type.String(),
  imageRef: Type.String(),
  status: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  createdBy: Type.String(),
  createdAt: Type.String({ format: "date-time" }),
  finishedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  replicas: Type.Array(ReplicaView),
});

function deploymentView(d: Deployment, items: DeployWorkItem[]): Static<typeof DeploymentView> {
  return {
    id: d.id,
    serviceId: d.service_id,
    buildId: d.build_id,
    imageRef: d.image_ref,
    status: d.status,
    reason: d.reason,
    createdBy: d.created_by,
    createdAt: d.created_at.toISOString(),
    finishedAt: d.finished_at ? d.finished_at.toISOString() : null,
    replicas: items
      .filter((i) => i.deployment_id === d.id)
      .sort((a, b) => a.replica_index - b.replica_index)
      .map((i) => ({
        replicaIndex: i.replica_index,
        status: i.status,
        statusReason: i.status_reason,
        agentId: i.claimed_by,
        containerId: i.container_id,
        endpoint: i.endpoint_host && i.endpoint_port ? `${i.endpoint_host}:${i.endpoint_port}` : null,
      })),
  };
}

async function itemsOf(db: Db, deploymentIds: string[]): Promise<DeployWorkItem[]> {
  if (deploymentIds.length === 0) return [];
  return db.selectFrom("deploy_work_items").selectAll().where("deployment_id", "in", deploymentIds).execute();
}

export const deploymentRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.get(
    "/services/:serviceId/deployments",
    {
      schema: {
        tags: ["deployments"],
        params: Type.Object({ serviceId: Uuid }),
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 20 }) }),
        response: { 200: Type.Array(DeploymentView) },
      },
    },
    async (request) => {
      await getService(db, request.actor.orgId, request.params.serviceId);
      const deployments = await db
        .selectFrom("deployments")
        .selectAll()
        .where("service_id", "=", request.params.serviceId)
        .orderBy("created_at", "desc")
        .limit(request.query.limit)
        .execute();
      const items = await itemsOf(
        db,
        deployments.map((d) => d.id),
      );
      return deployments.map((d) => deploymentView(d, items));
    },
  );

  app.get(
    "/deployments/:deploymentId",
    {
      schema: { tags: ["deployments"], params: Type.Object({ deploymentId: Uuid }), response: { 200: DeploymentView } },
    },
    async (request) => {
      const deployment = await db
        .selectFrom("deployments")
        .innerJoin("services", "services.id", "deployments.service_id")
        .innerJoin("projects", "projects.id", "services.project_id")
        .selectAll("deployments")
        .where("deployments.id", "=", request.params.deploymentId)
        .where("projects.org_id", "=", request.actor.orgId)
        .executeTakeFirst();
      if (!deployment) throw notFound(`deployment ${request.params.deploymentId}`);
      return deploymentView(deployment, await itemsOf(db, [deployment.id]));
    },
  );
};
