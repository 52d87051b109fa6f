// Who may call which route: every route of the app declares `config.access`, the least role it
// needs (or "public"), and one hook (bootstrap-auth.ts) enforces it. buildApp refuses to register a
// route without a declaration, so a route cannot be added unguarded by forgetting.
import type { Role } from "../db/schema.js";

export type { Role };

/**
 * viewer: reads everything in the organisation.
 * developer: + deploy/restart/scale/stop/start, builds (trigger, cancel, retry), variables, services.
 * admin: + agents, GitHub App setup, projects, invitations, members below owner.
 * owner: + owners and the organisation's settings.
 */
export const ROLES: readonly Role[] = ["viewer", "developer", "admin", "owner"];

/** What a route requires: a role (and every role above it), or nothing ("public"). */
export type Access = Role | "public";

declare module "fastify" {
  interface FastifyContextConfig {
    access?: Access;
  }
}

const rank = (role: Role) => ROLES.indexOf(role);

/** Whether `role` includes everything `needed` may do. */
export const includes = (role: Role, needed: Role): boolean => rank(role) >= rank(needed);

export const isRole = (value: unknown): value is Role => ROLES.includes(value as Role);
