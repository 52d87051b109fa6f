import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { Db } from "../db/database.js";
import { unauthorized } from "../http/errors.js";
import { bootstrapAdmin, isBootstrapToken } from "./bootstrap-auth.js";
import { SESSION_COOKIE, SESSION_TTL_SECONDS, createSession, deleteSession } from "./sessions.js";

/** Exchanges the bootstrap token for a browser session (httpOnly cookie + CSRF token). */
export const sessionRoutes: FastifyPluginAsyncTypebox<{
  db: Db;
  bootstrapToken: string;
  secureCookies: boolean;
}> = async (app, { db, bootstrapToken, secureCookies }) => {
  app.post(
    "/session",
    {
      schema: {
        tags: ["auth"],
        security: [],
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ csrfToken: Type.String() }) },
      },
    },
    async (request, reply) => {
      if (!isBootstrapToken(request.body.token, bootstrapToken)) throw unauthorized("wrong token");
      const admin = bootstrapAdmin();
      const { cookie, csrfToken } = await createSession(db, admin.userId, admin.orgId);
      reply.setCookie(SESSION_COOKIE, cookie, {
        httpOnly: true,
        sameSite: "lax", // sent on GitHub's top-level redirects back to us, not on cross-site POSTs
        secure: secureCookies,
        path: "/",
        maxAge: SESSION_TTL_SECONDS,
      });
      return reply.status(201).send({ csrfToken });
    },
  );

  app.delete("/session", { schema: { tags: ["auth"], security: [] } }, async (request, reply) => {
    const cookie = request.cookies[SESSION_COOKIE];
    if (cookie) await deleteSession(db, cookie);
    reply.clearCookie(SESSION_COOKIE, { path: "/" });
    return reply.status(204).send();
  });
};
