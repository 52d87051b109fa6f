// Authenticates API callers and enforces each route's declared access (access.ts). A caller is:
// - the bootstrap admin (`Authorization: Bearer <SLIPWAY_BOOTSTRAP_TOKEN>`), owner of the default
//   organisation, for automation and first set-up;
// - a user's API token (`Authorization: Bearer slp_…`), acting as that user in the token's organisation;
// - a browser session cookie (sessions.ts), whose unsafe requests must echo the CSRF token.
// The role is read from the membership on every request, so a changed role or a removed member takes
// effect at once; a disabled user is refused.
import { createHash, timingSafeEqual } from "node:crypto";
import fp from "fastify-plugin";
import type { FastifyRequest } from "fastify";
import type { Db } from "../db/database.js";
import { BOOTSTRAP_ADMIN_ID, DEFAULT_ORG_ID, type Role } from "../db/schema.js";
import { HttpError, unauthorized } from "../http/errors.js";
import { includes } from "./access.js";
import { API_TOKEN_PREFIX, findApiToken } from "./api-tokens.js";
import { SESSION_COOKIE, findSession } from "./sessions.js";

export interface Actor {
  userId: string;
  orgId: string;
  role: Role;
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

export const actorOf = (userId: string, orgId: string, role: Role): Actor => ({
  userId,
  orgId,
  role,
  label: `user:${userId}`,
});

export const bootstrapAdmin = (): Actor => actorOf(BOOTSTRAP_ADMIN_ID, DEFAULT_ORG_ID, "owner");

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

async function authenticate(request: FastifyRequest, db: Db, bootstrapToken: string): Promise<Actor> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const token = header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : "";
    if (token.startsWith(API_TOKEN_PREFIX)) {
      const actor = await findApiToken(db, token);
      if (!actor) throw unauthorized("unknown or revoked API token");
      return actor;
    }
    if (!token || !isBootstrapToken(token, bootstrapToken)) throw unauthorized();
    return bootstrapAdmin();
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
  return actorOf(session.userId, session.orgId, session.role);
}

/**
 * Adds an onRequest hook that authenticates the caller and checks the route's `config.access`.
 * Register it inside the encapsulated context of the routes it guards, so what is protected follows
 * from where a route is registered. A route here without a declared role is refused (fail closed).
 */
export const requireAuthentication = fp<{ bootstrapToken: string; db: Db }>(
  async (app, { bootstrapToken, db }) => {
    app.decorateRequest("actor", null as unknown as Actor);
    app.addHook("onRequest", async (request: FastifyRequest) => {
      request.actor = await authenticate(request, db, bootstrapToken);
      const needed = request.routeOptions.config.access;
      if (needed === undefined || needed === "public") {
        throw new HttpError(500, "route declares no access"); // buildApp refuses such routes already
      }
      if (!includes(request.actor.role, needed)) {
        throw new HttpError(403, `this needs the ${needed} role or above; you are ${request.actor.role}`);
      }
    });
  },
  { name: "require-authentication" },
);
