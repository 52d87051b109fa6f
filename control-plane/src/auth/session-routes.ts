// Public routes of people and access: sign-in (email + password, or the bootstrap token), sign-out,
// the first-run owner set-up and accepting an invitation. Sign-in is rate limited per client address
// and per email (in memory: one control plane process answers the API).
import fastifyRateLimit from "@fastify/rate-limit";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import type { Db } from "../db/database.js";
import { HttpError, unauthorized } from "../http/errors.js";
import { createFirstOwner, describeActor, needsOwner, normaliseEmail, signIn, type SignedIn } from "./accounts.js";
import { bootstrapAdmin, isBootstrapToken } from "./bootstrap-auth.js";
import { acceptInvitation, describeInvitation } from "./invitations.js";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./passwords.js";
import { SESSION_COOKIE, SESSION_TTL_SECONDS, createSession, deleteSession } from "./sessions.js";
import { Email, RoleSchema, SessionView, UserName, sessionView } from "./schemas.js";

/** Sign-in attempts allowed per client address and per email address in their windows. */
export const LOGIN_LIMITS = {
  perAddress: { max: 30, timeWindow: 10 * 60_000 },
  perEmail: { max: 10, timeWindow: 15 * 60_000 },
};

const NewPassword = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH });

export const sessionRoutes: FastifyPluginAsyncTypebox<{
  db: Db;
  bootstrapToken: string;
  secureCookies: boolean;
}> = async (app, { db, bootstrapToken, secureCookies }) => {
  // The plugin runs one limiter per request; both counters are wanted, so they are checked here.
  await app.register(fastifyRateLimit, { global: false });
  const limiters = {
    address: app.createRateLimit({ ...LOGIN_LIMITS.perAddress, keyGenerator: (request) => `ip:${request.ip}` }),
    email: app.createRateLimit({
      ...LOGIN_LIMITS.perEmail,
      keyGenerator: (request) => `email:${emailOf(request.body) ?? ""}`,
      allowList: (request) => emailOf(request.body) === undefined,
    }),
  };
  const limit =
    (...which: (keyof typeof limiters)[]) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      for (const name of which) {
        const result = await limiters[name](request);
        if (result.isAllowed || !result.isExceeded) continue;
        reply.header("retry-after", String(result.ttlInSeconds));
        throw new HttpError(429, `too many sign-in attempts; try again in ${result.ttlInSeconds} seconds`);
      }
    };
  const perAddress = limit("address");
  const perAddressAndEmail = limit("address", "email");

  const signedIn = async (reply: FastifyReply, who: SignedIn, status: 200 | 201) => {
    const { cookie, csrfToken } = await createSession(db, who.actor.userId, who.actor.orgId);
    reply.setCookie(SESSION_COOKIE, cookie, {
      httpOnly: true,
      sameSite: "lax", // sent on GitHub's top-level redirects back to us, not on cross-site POSTs
      secure: secureCookies,
      path: "/",
      maxAge: SESSION_TTL_SECONDS,
    });
    return reply.status(status).send(sessionView(who, csrfToken));
  };

  app.post(
    "/session",
    {
      config: { access: "public" },
      preHandler: perAddressAndEmail,
      schema: {
        tags: ["auth"],
        security: [],
        description:
          "Signs in with an email and password, or with the bootstrap token (automation, first set-up). " +
          "Sets an httpOnly session cookie; unsafe requests with it must send the csrfToken in X-CSRF-Token. " +
          "Rate limited per client address and per email (429).",
        body: Type.Union([
          Type.Object(
            { email: Email, password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH }) },
            { additionalProperties: false },
          ),
          Type.Object({ token: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }),
        ]),
        response: { 201: SessionView },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if ("token" in body) {
        if (!isBootstrapToken(body.token, bootstrapToken)) throw unauthorized("wrong token");
        return signedIn(reply, await describeActor(db, bootstrapAdmin()), 201);
      }
      return signedIn(reply, await signIn(db, body.email, body.password), 201);
    },
  );

  app.delete(
    "/session",
    { config: { access: "public" }, schema: { tags: ["auth"], security: [], description: "Signs this browser out." } },
    async (request, reply) => {
      const cookie = request.cookies[SESSION_COOKIE];
      if (cookie) await deleteSession(db, cookie);
      reply.clearCookie(SESSION_COOKIE, { path: "/" });
      return reply.status(204).send();
    },
  );

  app.get(
    "/setup/status",
    {
      config: { access: "public" },
      schema: {
        tags: ["auth"],
        security: [],
        description: "Whether the first owner is still to be created (POST /api/setup/owner is open).",
        response: { 200: Type.Object({ needsOwner: Type.Boolean() }) },
      },
    },
    async () => ({ needsOwner: await needsOwner(db) }),
  );

  app.post(
    "/setup/owner",
    {
      config: { access: "public" },
      preHandler: perAddress,
      schema: {
        tags: ["auth"],
        security: [],
        description:
          "Creates the first owner (of the default organisation) and signs them in. Works only while no user " +
          "other than the bootstrap admin exists; 409 afterwards.",
        body: Type.Object(
          {
            email: Email,
            name: UserName,
            password: NewPassword,
            orgName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: SessionView },
      },
    },
    async (request, reply) => signedIn(reply, await createFirstOwner(db, request.body), 201),
  );

  app.get(
    "/invitations/:token",
    {
      config: { access: "public" },
      preHandler: perAddress,
      schema: {
        tags: ["members"],
        security: [],
        description: "What an open invitation offers (organisation, role, the email it is for), for the accept page.",
        params: Type.Object({ token: Type.String({ minLength: 16, maxLength: 128 }) }),
        response: {
          200: Type.Object({
            org: Type.Object({ id: Type.String(), name: Type.String() }),
            role: RoleSchema,
            email: Type.Union([Type.String(), Type.Null()]),
            expiresAt: Type.String(),
          }),
        },
      },
    },
    async (request) => {
      const invitation = await describeInvitation(db, request.params.token);
      return { ...invitation, expiresAt: invitation.expiresAt.toISOString() };
    },
  );

  app.post(
    "/invitations/:token/accept",
    {
      config: { access: "public" },
      preHandler: perAddress,
      schema: {
        tags: ["members"],
        security: [],
        description: "Accepts an invitation: creates the account and its membership, and signs in.",
        params: Type.Object({ token: Type.String({ minLength: 16, maxLength: 128 }) }),
        body: Type.Object({ email: Email, name: UserName, password: NewPassword }, { additionalProperties: false }),
        response: { 201: SessionView },
      },
    },
    async (request, reply) => signedIn(reply, await acceptInvitation(db, request.params.token, request.body), 201),
  );
};

function emailOf(body: unknown): string | undefined {
  const email = (body as { email?: unknown } | undefined)?.email;
  return typeof email === "string" ? normaliseEmail(email) : undefined;
}
