// GET /api/services/:serviceId/logs: a replica's container log as Server-Sent Events, the last
// `tail` lines and, with follow=true, every new line until the client goes away. Each `log` event
// carries {stream, line, time} (and `truncated` for a line cut at 16 KiB); an `end` event closes the
// stream, with `error` when reading failed. The agent holding the replica reads the log
// (agent/src/logs/container-logs.ts); container-log-streams.ts carries the request there and the
// lines back, through another control plane when that is where the agent is connected.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { Db } from "../db/database.js";
import { conflict, notFound } from "../errors.js";
import { EventStream } from "../http/event-stream.js";
import { getService } from "../projects/project-repository.js";
import { Uuid } from "../projects/schemas.js";
import type { ContainerLogLine, ContainerLogStreams } from "./container-log-streams.js";

/** A reader this far behind (relayed lines are not held back for it) is cut off. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** A followed log may stay quiet for long; a comment this often keeps proxies from closing it. */
const KEEP_ALIVE_MS = 15_000;

/** The replica whose log is read: the newest running deployment's item with that index. */
async function servingReplica(
  db: Db,
  serviceId: string,
  replicaIndex: number,
  deploymentId: string | undefined,
): Promise<{ deploymentId: string; agentId: string; containerId: string }> {
  if (deploymentId) {
    const deployment = await db
      .selectFrom("deployments")
      .select("id")
      .where("id", "=", deploymentId)
      .where("service_id", "=", serviceId)
      .executeTakeFirst();
    if (!deployment) throw notFound(`deployment ${deploymentId} of this service`);
  }
  let query = db
    .selectFrom("deploy_work_items as i")
    .innerJoin("deployments as d", "d.id", "i.deployment_id")
    .select(["i.deployment_id", "i.replica_index", "i.claimed_by", "i.container_id"])
    .where("d.service_id", "=", serviceId)
    .where("i.status", "=", "running")
    .orderBy("d.sequence", "desc");
  if (deploymentId) query = query.where("d.id", "=", deploymentId);
  const running = await query.execute();
  if (running.length === 0) {
    throw conflict(
      deploymentId ? `deployment ${deploymentId} has no running replica` : "this service has no running replica",
    );
  }
  const item = running.find((i) => i.replica_index === replicaIndex);
  if (!item) throw notFound(`running replica ${replicaIndex}`);
  if (!item.claimed_by || !item.container_id) throw conflict(`replica ${replicaIndex} has no container yet`);
  return { deploymentId: item.deployment_id, agentId: item.claimed_by, containerId: item.container_id };
}

export const containerLogRoutes: FastifyPluginAsyncTypebox<{ db: Db; streams: ContainerLogStreams }> = async (
  app,
  { db, streams },
) => {
  app.get(
    "/services/:serviceId/logs",
    {
      config: { access: "viewer" },
      schema: {
        tags: ["deployments"],
        description:
          "A replica's container log as Server-Sent Events: `log` events ({stream, line, time}), then `end` ({error?}).",
        params: Type.Object({ serviceId: Uuid }),
        querystring: Type.Object({
          replica: Type.Integer({ minimum: 0, maximum: 1000, default: 0 }),
          deploymentId: Type.Optional(Uuid),
          tail: Type.Integer({ minimum: 1, maximum: 5000, default: 200 }),
          follow: Type.Boolean({ default: false }),
          since: Type.Optional(Type.String({ format: "date-time" })),
        }),
      },
    },
    async (request, reply) => {
      const { serviceId } = request.params;
      const { replica, deploymentId, tail, follow, since } = request.query;
      await getService(db, request.actor.orgId, serviceId);
      const target = await servingReplica(db, serviceId, replica, deploymentId);

      const stream = new EventStream(request, reply);
      const closed = new Promise<void>((resolve) => stream.onClose(resolve));
      const end = (error?: string) => {
        void stream.send("end", JSON.stringify(error ? { error } : {})).finally(() => stream.end());
      };
      const close = await streams.open(
        target.agentId,
        {
          serviceId,
          deploymentId: target.deploymentId,
          replicaIndex: replica,
          containerId: target.containerId,
          tail,
          follow,
          since: since ? new Date(since) : undefined,
        },
        {
          lines: async (lines: ContainerLogLine[]) => {
            if (stream.buffered > MAX_BUFFERED_BYTES) return end("the reader fell too far behind the log");
            await stream.sendAll(lines.map((line) => ({ event: "log", data: JSON.stringify(line) })));
          },
          end,
        },
      );
      stream.onClose(close);
      stream.start();
      if (follow) stream.keepAlive(KEEP_ALIVE_MS);
      await closed;
    },
  );
};
