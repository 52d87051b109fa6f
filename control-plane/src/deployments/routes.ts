import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type, type Static } from "typebox";
import type { Db } from "../db/database.js";
import type { Deployment, DeployWorkItem } from "../db/schema.js";
import { notFound } from "../errors.js";
import { getService } from "../projects/project-repository.js";
import { Uuid } from "../projects/schemas.js";
import { BuildView, buildView } from "../builds/routes.js";
import { deployService, restartService, startService, stopService } from "./service-operations.js";

const Reason = Type.String({ minLength: 1, maxLength: 500 });
const OperationBody = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });
// A button sends no body at all: treat it as {}.
const emptyBody = async (request: { body: unknown }) => {
  request.body ??= {};
};

const ReplicaView = Type.Object({
  replicaIndex: Type.Integer(),
  status: Type.String(),
  statusReason: Type.Union([Type.String(), Type.Null()]),
  agentId: Type.Union([Type.String(), Type.Null()]),
  containerId: Type.Union([Type.String(), Type.Null()]),
  /** Where the replica answers, as host:port on its agent's host. */
  endpoint: Type.Union([Type.String(), Type.Null()]),
});

export const DeploymentView = Type.Object({
  id: Type.String(),
  serviceId: Type.String(),
  /** Its place among the service's deployments, from 1: the highest that succeeded serves. */
  sequence: Type.Integer(),
  buildId: Type.String(),
  imageRef: Type.String(),
  status: Type.String(),
  /** Why it failed or was cancelled. */
  reason: Type.Union([Type.String(), Type.Null()]),
  /** Why it was created: auto, manual, rollback, restart, scale, stop, start, replica_lost. */
  trigger: Type.String(),
  /** The words its requester gave for it. */
  triggerReason: Type.Union([Type.String(), Type.Null()]),
  /** How many replicas it wants (0: it stops the service). */
  replicaCount: Type.Integer(),
  createdBy: Type.String(),
  createdAt: Type.String({ format: "date-time" }),
  finishedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  replicas: Type.Array(ReplicaView),
});

export function deploymentView(d: Deployment, items: DeployWorkItem[]): Static<typeof DeploymentView> {
  return {
    id: d.id,
    serviceId: d.service_id,
    sequence: d.sequence,
    buildId: d.build_id,
    imageRef: d.image_ref,
    status: d.status,
    reason: d.reason,
    trigger: d.trigger,
    triggerReason: d.trigger_reason,
    replicaCount: d.replicas,
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
      config: { access: "viewer" },
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
        .orderBy("sequence", "desc")
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
      config: { access: "viewer" },
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

  app.post(
    "/services/:serviceId/deployments",
    {
      config: { access: "developer" },
      schema: {
        tags: ["deployments"],
        description:
          "Deploys an earlier completed build of the service (`buildId`: a rollback when older than the serving " +
          "one), or the branch head: its completed build at once (201), else its build deploys when it " +
          "completes (202, queued when none is on its way). Starts a stopped service.",
        params: Type.Object({ serviceId: Uuid }),
        body: Type.Object(
          { buildId: Type.Optional(Uuid), reason: Type.Optional(Reason) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ deployment: DeploymentView }),
          202: Type.Object({ build: BuildView }),
        },
      },
      preValidation: emptyBody,
    },
    async (request, reply) => {
      const outcome = await deployService(db, request.actor, request.params.serviceId, request.body);
      if (outcome.build) return reply.status(202).send({ build: buildView(outcome.build) });
      const { deployment } = outcome;
      return reply.status(201).send({ deployment: deploymentView(deployment, await itemsOf(db, [deployment.id])) });
    },
  );

  const operations = [
    ["restart", restartService, "A rolling restart: new replicas of the running image replace the old ones."],
    ["stop", stopService, "Takes every replica out of the route and removes it; builds no longer deploy."],
    ["start", startService, "Brings back the image a stopped service last served, with its replicas."],
  ] as const;
  for (const [name, operation, description] of operations) {
    app.post(
      `/services/:serviceId/${name}`,
      {
        config: { access: "developer" },
        schema: {
          tags: ["deployments"],
          description,
          params: Type.Object({ serviceId: Uuid }),
          body: OperationBody,
          response: { 201: Type.Object({ deployment: DeploymentView }) },
        },
        preValidation: emptyBody,
      },
      async (request, reply) => {
        const deployment = await operation(db, request.actor, request.params.serviceId, request.body.reason);
        return reply.status(201).send({ deployment: deploymentView(deployment, await itemsOf(db, [deployment.id])) });
      },
    );
  }
};
