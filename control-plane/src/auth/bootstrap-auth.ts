// Authenticates API callers. Until the dashboard brings users, there is one account, the bootstrap
// admin, reached either with its token (`Authorization: Bearer <token>`, for scripts) or with a
// session cookie obtained from that token (for browser flows such as the GitHub App setup).
import { createHash, timingSafeEqual } from "node:crypto";
import fp from "fastify-plugin";
import type { FastifyRequest } from "fastify";
import type { Db } from "../db/database.js";
import { BOOTSTRAP_ADMIN_ID, DEFAULT_ORG_ID } from "../db/schema.js";
import { HttpError, unauthorized } from "../http/errors.js";
import { SESSION_COOKIE, findSession } from "./sessions.js";

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

/** Constant-time check of a presented bootstrap token (digests make the lengths equal). */
export function isBootstrapToken(presented: string, bootstrapToken: string): boolean {
  return timingSafeEqual(digest(presented), digest(bootstrapToken));
}

export const bootstrapAdmin = (): Actor => ({
  userId: BOOTSTRAP_ADMIN_ID,
  orgId: DEFAULT_ORG_ID,
  role: "admin",
  label: `user:${BOOTSTRAP_ADMIN_ID}`,
});

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Adds an onRequest hook that rejects unauthenticated requests. Register it inside the encapsulated
 * context of the routes it guards, so what is protected follows from where a route is registered.
 */
export const requireAuthentication = fp<{ bootstrapToken: string; db: Db }>(
  async (app, { bootstrapToken, db }) => {
    app.decorateRequest("actor", null as unknown as Actor);
    app.addHook("onRequest", async (request: FastifyRequest) => {
      const header = request.headers.authorization;
      if (header !== undefined) {
        const token = header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : "";
        if (!token || !isBootstrapToken(token, bootstrapToken)) throw unauthorized();
        request.actor = bootstrapAdmin();
        return;
      }
      const cookie = request.cookies[SESSION_COOKIE];
      const session = cookie ? await findSession(db, cookie) : undefined;
      if (!session) throw unauthorized();
      if (!SAFE_METHODS.has(request.method)) {
        const presented = request.headers["x-csrf-token"];
        if (typeof presented !== "string" || !timingSafeEqual(digest(presented), digest(session.csrfToken))) {
          throw new HttpError(403, "missing or wrong X-CSRF-Token for this session");
        }
      }
      request.actor = { userId: session.userId, orgId: session.orgId, role: "admin", label: `user:${session.userId}` };
    });
  },
  { name: "require-authentication" },
);
