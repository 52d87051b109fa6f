import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { Db } from "../db/database.js";

/** Lets a user see why a push did or did not build. */
export const deliveryRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.get(
    "/webhook-deliveries",
    {
      config: { access: "viewer" },
      schema: {
        tags: ["github"],
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }) }),
        response: {
          200: Type.Array(
            Type.Object({
              deliveryId: Type.String(),
              event: Type.String(),
              action: Type.Union([Type.String(), Type.Null()]),
              repositoryId: Type.Union([Type.Integer(), Type.Null()]),
              ref: Type.Union([Type.String(), Type.Null()]),
              headSha: Type.Union([Type.String(), Type.Null()]),
              outcome: Type.String(),
              reason: Type.String(),
              buildsCreated: Type.Integer(),
              receivedAt: Type.String({ format: "date-time" }),
            }),
          ),
        },
      },
    },
    async (request) => {
      // Deliveries about this organisation's installations, or its services' repositories.
      const orgId = request.actor.orgId;
      const rows = await db
        .selectFrom("webhook_deliveries")
        .selectAll()
        .where((eb) =>
          eb.or([
            eb("installation_id", "in", eb.selectFrom("github_installations").select("id").where("org_id", "=", orgId)),
            eb(
              "repository_id",
              "in",
              eb
                .selectFrom("services")
                .innerJoin("projects", "projects.id", "services.project_id")
                .select("services.github_repo_id")
                .where("projects.org_id", "=", orgId),
            ),
          ]),
        )
        .orderBy("received_at", "desc")
        .limit(request.query.limit)
        .execute();
      return rows.map((d) => ({
        deliveryId: d.delivery_id,
        event: d.event,
        action: d.action,
        repositoryId: d.repository_id === null ? null : Number(d.repository_id),
        ref: d.ref,
        headSha: d.head_sha,
        outcome: d.outcome,
        reason: d.reason,
        buildsCreated: d.builds_created,
        receivedAt: d.received_at.toISOString(),
      }));
    },
  );
};
