// Authenticates API callers. Until the dashboard brings users and sessions, the one credential is
// the bootstrap admin's token, sent as `Authorization: Bearer <token>`.
import { createHash, timingSafeEqual } from "node:crypto";
import fp from "fastify-plugin";
import type { FastifyRequest } from "fastify";
import { BOOTSTRAP_ADMIN_ID, DEFAULT_ORG_ID } from "../db/schema.js";
import { unauthorized } from "../http/errors.js";

export interface Actor {
  userId: string;
  orgId: string;
  role: "admin" | "member" | "viewer";
  /** How the actor appears in audit and history rows. */
  label: string;
}

declare module "fastify" {
  interface FastifyRequest {
    actor: Actor;
  }
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Adds an onRequest hook that rejects unauthenticated requests. Register it inside the encapsulated
 * context of the routes it guards, so what is protected follows from where a route is registered.
 */
export const requireAuthentication = fp<{ bootstrapToken: string }>(
  async (app, options) => {
    const expected = digest(options.bootstrapToken);
    app.decorateRequest("actor", null as unknown as Actor);
    app.addHook("onRequest", async (request: FastifyRequest) => {
      const header = request.headers.authorization;
      const token = header?.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : undefined;
      // Comparing digests keeps the comparison constant-time whatever the presented length.
      if (!token || !timingSafeEqual(digest(token), expected)) throw unauthorized();
      request.actor = {
        userId: BOOTSTRAP_ADMIN_ID,
        orgId: DEFAULT_ORG_ID,
        role: "admin",
        label: `user:${BOOTSTRAP_ADMIN_ID}`,
      };
    });
  },
  { name: "require-authentication" },
);
