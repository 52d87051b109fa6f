// Authenticated routes of people and access: who am I, sign-out everywhere, members and their roles,
// invitations, the caller's API tokens and the organisation's settings. Each declares the least role
// it needs (access.ts); finer rules (owners, the last owner) are the domain's (accounts.ts).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { Db } from "../db/database.js";
import { changeMember, describeActor, listMembers, renameOrg } from "./accounts.js";
import { createApiToken, listApiTokens, revokeApiToken } from "./api-tokens.js";
import { createInvitation } from "./invitations.js";
import { Email, RoleSchema, SessionView, sessionView } from "./schemas.js";
import { SESSION_COOKIE, deleteUserSessions, findSession } from "./sessions.js";

const Uuid = Type.String({ format: "uuid" });

const MemberView = Type.Object({
  userId: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  name: Type.String(),
  role: RoleSchema,
  disabled: Type.Boolean(),
  joinedAt: Type.String(),
});

const ApiTokenView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: "the token's first characters, to tell tokens apart" }),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});

export const peopleRoutes: FastifyPluginAsyncTypebox<{ db: Db; publicUrl: string }> = async (
  app,
  { db, publicUrl },
) => {
  app.get(
    "/session",
    {
      config: { access: "viewer" },
      schema: {
        tags: ["auth"],
        description:
          "Who is calling: user, organisation, role, and the session's CSRF token (null for bearer callers).",
        response: {
          200: Type.Object({ ...SessionView.properties, csrfToken: Type.Union([Type.String(), Type.Null()]) }),
        },
      },
    },
    async (request) => {
      const cookie = request.headers.authorization === undefined ? request.cookies[SESSION_COOKIE] : undefined;
      const session = cookie ? await findSession(db, cookie) : undefined;
      return { ...sessionView(await describeActor(db, request.actor), ""), csrfToken: session?.csrfToken ?? null };
    },
  );

  app.post(
    "/session/everywhere",
    {
      config: { access: "viewer" },
      schema: {
        tags: ["auth"],
        description: "Signs the caller out of every session, in every browser. API tokens stay valid.",
        response: { 200: Type.Object({ signedOut: Type.Integer() }) },
      },
    },
    async (request, reply) => {
      const signedOut = await deleteUserSessions(db, request.actor.userId);
      reply.clearCookie(SESSION_COOKIE, { path: "/" });
      return { signedOut };
    },
  );

  app.get(
    "/members",
    { config: { access: "viewer" }, schema: { tags: ["members"], response: { 200: Type.Array(MemberView) } } },
    async (request) => listMembers(db, request.actor),
  );

  app.patch(
    "/members/:userId",
    {
      config: { access: "admin" },
      schema: {
        tags: ["members"],
        description: "Changes a member's role. Only owners make or change owners; the last owner stays (409).",
        params: Type.Object({ userId: Uuid }),
        body: Type.Object({ role: RoleSchema }, { additionalProperties: false }),
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { userId } = request.params;
      await changeMember(db, request.actor, userId, request.body.role);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    "/members/:userId",
    {
      config: { access: "admin" },
      schema: {
        tags: ["members"],
        description: "Removes a member (their sessions and API tokens in this organisation end). Last owner: 409.",
        params: Type.Object({ userId: Uuid }),
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { userId } = request.params;
      await changeMember(db, request.actor, userId, null);
      return reply.status(204).send(null);
    },
  );

  app.post(
    "/invitations",
    {
      config: { access: "admin" },
      schema: {
        tags: ["members"],
        description:
          "Creates an invitation link (shown once, valid 7 days, single use). With email, only that address may accept.",
        body: Type.Object({ role: RoleSchema, email: Type.Optional(Email) }, { additionalProperties: false }),
        response: { 201: Type.Object({ url: Type.String(), expiresAt: Type.String() }) },
      },
    },
    async (request, reply) => {
      const { token, expiresAt } = await createInvitation(db, request.actor, request.body);
      const url = new URL(`/invitations/${token}`, publicUrl).toString();
      return reply.status(201).send({ url, expiresAt: expiresAt.toISOString() });
    },
  );

  app.get(
    "/tokens",
    { config: { access: "viewer" }, schema: { tags: ["tokens"], response: { 200: Type.Array(ApiTokenView) } } },
    async (request) => listApiTokens(db, request.actor),
  );

  app.post(
    "/tokens",
    {
      config: { access: "viewer" },
      schema: {
        tags: ["tokens"],
        description:
          "Creates an API token for the caller in this organisation (`Authorization: Bearer slp_…`, with the " +
          "caller's role). The token is in this answer only.",
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ ...ApiTokenView.properties, token: Type.String() }) },
      },
    },
    async (request, reply) => {
      const { token, view } = await createApiToken(db, request.actor, request.body.name);
      return reply.status(201).send({ ...view, token });
    },
  );

  app.delete(
    "/tokens/:id",
    {
      config: { access: "viewer" },
      schema: { tags: ["tokens"], params: Type.Object({ id: Uuid }), response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      await revokeApiToken(db, request.actor, request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.patch(
    "/org",
    {
      config: { access: "owner" },
      schema: {
        tags: ["members"],
        description: "The organisation's settings (its name).",
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ id: Type.String(), name: Type.String() }) },
      },
    },
    async (request) => renameOrg(db, request.actor, request.body.name),
  );
};
