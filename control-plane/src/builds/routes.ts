import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type, type Static } from "typebox";
import type { Db } from "../db/database.js";
import type { Build } from "../db/schema.js";
import { Uuid } from "../projects/schemas.js";
import type { Metrics } from "../metrics/metrics.js";
import { readLogChunks } from "./build-logs.js";
import {
  cancelBuild,
  getBuild,
  getBuildHistory,
  listBuilds,
  retryBuild,
  triggerBuild,
  whyUnclaimable,
} from "./build-service.js";

export const BuildView = Type.Object({
  id: Type.String(),
  serviceId: Type.String(),
  commitSha: Type.String(),
  branch: Type.String(),
  commitMessage: Type.String(),
  trigger: Type.String(),
  status: Type.String(),
  statusReason: Type.Union([Type.String(), Type.Null()]),
  attempt: Type.Integer(),
  maxAttempts: Type.Integer(),
  imageRef: Type.Union([Type.String(), Type.Null()]),
  imageDigest: Type.Union([Type.String(), Type.Null()]),
  retryOf: Type.Union([Type.String(), Type.Null()]),
  cancelRequestedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  deliveryId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: "date-time" }),
  startedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  finishedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
});

const HistoryEntry = Type.Object({
  from: Type.Union([Type.String(), Type.Null()]),
  to: Type.String(),
  actor: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  at: Type.String({ format: "date-time" }),
});

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const buildView = (b: Build): Static<typeof BuildView> => ({
  id: b.id,
  serviceId: b.service_id,
  commitSha: b.commit_sha,
  branch: b.branch,
  commitMessage: b.commit_message,
  trigger: b.trigger,
  status: b.status,
  statusReason: b.status_reason,
  attempt: b.attempt,
  maxAttempts: b.max_attempts,
  imageRef: b.image_ref,
  imageDigest: b.image_digest,
  retryOf: b.retry_of,
  cancelRequestedAt: iso(b.cancel_requested_at),
  deliveryId: b.delivery_id,
  createdAt: b.created_at.toISOString(),
  startedAt: iso(b.started_at),
  finishedAt: iso(b.finished_at),
});

export const buildRoutes: FastifyPluginAsyncTypebox<{ db: Db; metrics: Metrics }> = async (app, { db, metrics }) => {
  app.post(
    "/services/:serviceId/builds",
    {
      config: { access: "developer" },
      schema: {
        tags: ["builds"],
        params: Type.Object({ serviceId: Uuid }),
        body: Type.Object(
          { commitSha: Type.Optional(Type.String({ pattern: "^[0-9a-f]{40}$" })) },
          { additionalProperties: false },
        ),
        response: { 202: BuildView },
      },
      // A button sends no body at all: treat it as {} (build the branch head). The Deploy button,
      // which also deploys what it builds, is POST /services/:serviceId/deployments.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const build = await triggerBuild(db, request.actor, request.params.serviceId, request.body.commitSha);
      return reply.status(202).send(buildView(build));
    },
  );

  app.get(
    "/builds",
    {
      config: { access: "viewer" },
      schema: {
        tags: ["builds"],
        querystring: Type.Object({
          serviceId: Type.Optional(Uuid),
          limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          before: Type.Optional(Type.String({ format: "date-time" })),
        }),
        response: { 200: Type.Array(BuildView) },
      },
    },
    async (request) => (await listBuilds(db, request.actor.orgId, request.query)).map(buildView),
  );

  app.get(
    "/builds/:buildId",
    {
      config: { access: "viewer" },
      schema: {
        tags: ["builds"],
        params: Type.Object({ buildId: Uuid }),
        response: {
          200: Type.Intersect([
            BuildView,
            Type.Object({
              history: Type.Array(HistoryEntry),
              /** Set while the build waits for an agent that no enrolled agent could be. */
              waitingFor: Type.Union([Type.String(), Type.Null()]),
            }),
          ]),
        },
      },
    },
    async (request) => {
      const build = await getBuild(db, request.actor.orgId, request.params.buildId);
      const [history, waitingFor] = await Promise.all([getBuildHistory(db, build.id), whyUnclaimable(db, build)]);
      return {
        ...buildView(build),
        waitingFor,
        history: history.map((h) => ({
          from: h.from_status,
          to: h.to_status,
          actor: h.actor,
          reason: h.reason,
          at: h.at.toISOString(),
        })),
      };
    },
  );

  app.get(
    "/builds/:buildId/logs",
    {
      config: { access: "viewer" },
      schema: {
        tags: ["builds"],
        params: Type.Object({ buildId: Uuid }),
        querystring: Type.Object({
          afterAttempt: Type.Integer({ minimum: 0, default: 0 }),
          afterSeq: Type.Integer({ minimum: 0, default: 0 }),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 500 }),
        }),
        response: {
          200: Type.Object({
            chunks: Type.Array(Type.Object({ attempt: Type.Integer(), seq: Type.Integer(), text: Type.String() })),
          }),
        },
      },
    },
    async (request) => {
      const build = await getBuild(db, request.actor.orgId, request.params.buildId);
      const { afterAttempt, afterSeq, limit } = request.query;
      return { chunks: await readLogChunks(db, build.id, { attempt: afterAttempt, seq: afterSeq }, limit) };
    },
  );

  app.post(
    "/builds/:buildId/cancel",
    {
      config: { access: "developer" },
      schema: { tags: ["builds"], params: Type.Object({ buildId: Uuid }), response: { 202: BuildView } },
    },
    async (request, reply) => {
      const { build, outcome } = await cancelBuild(db, request.actor, request.params.buildId);
      metrics.cancels.inc({ outcome });
      return reply.status(202).send(buildView(build));
    },
  );

  app.post(
    "/builds/:buildId/retry",
    {
      config: { access: "developer" },
      schema: { tags: ["builds"], params: Type.Object({ buildId: Uuid }), response: { 202: BuildView } },
    },
    async (request, reply) =>
      reply.status(202).send(buildView(await retryBuild(db, request.actor, request.params.buildId))),
  );
};
