import type { FastifyPluginAsync } from "fastify";
import { sql } from "kysely";
import type { Redis } from "ioredis";
import type { Db } from "../db/database.js";

/** /healthz: the process answers. /readyz: it can reach everything it needs to do work. */
export const healthRoutes: FastifyPluginAsync<{ db: Db; redis: Redis }> = async (app, { db, redis }) => {
  app.get("/healthz", { schema: { hide: true } }, async () => ({ status: "ok" }));

  app.get("/readyz", { schema: { hide: true } }, async (_request, reply) => {
    const checks = await Promise.all([
      sql`SELECT 1`.execute(db).then(
        () => ["postgres", "ok"] as const,
        () => ["postgres", "unreachable"] as const,
      ),
      redis.ping().then(
        () => ["redis", "ok"] as const,
        () => ["redis", "unreachable"] as const,
      ),
    ]);
    const ready = checks.every(([, state]) => state === "ok");
    return reply
      .status(ready ? 200 : 503)
      .send({ status: ready ? "ready" : "not ready", checks: Object.fromEntries(checks) });
  });
};
