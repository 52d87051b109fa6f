// People and access through the real app on a real database: the route × role table generated from
// the routes' declared access, sign-in, the first owner, invitations, API tokens, sign-out everywhere,
// CSRF, and organisations that cannot see each other.
import { createHash, randomBytes } from "node:crypto";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/database.js";
import { buildTestApp, type TestApp } from "../../../test-support/app.js";
import { seedService } from "../../../test-support/fixtures.js";
import { createMember, sessionHeaders, type TestMember } from "../../../test-support/people.js";
import { DEFAULT_ORG_ID, type Role } from "../db/schema.js";
import { ROLES, includes } from "./access.js";
import { LOGIN_LIMITS } from "./session-routes.js";
import { SESSION_COOKIE } from "./sessions.js";

const TOKEN = randomBytes(32).toString("hex");
const ANY_ID = "00000000-0000-4000-8000-00000000abcd";

describe("people and access", () => {
  let database: TestDatabase;
  let testApp: TestApp;
  let app: FastifyInstance;
  /** Every answer of this file, to show no password or token leaks into one. */
  const answers: string[] = [];
  /** Every log line of the app, at trace level. */
  const logLines: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    testApp = await buildTestApp(
      database.db,
      {
        GITHUB_WEBHOOK_SECRET: "x".repeat(32),
        SLIPWAY_BOOTSTRAP_TOKEN: TOKEN,
        PUBLIC_URL: "https://slipway.example.test",
        LOG_LEVEL: "trace",
      },
      { logStream: { write: (line) => void logLines.push(line) } },
    );
    app = testApp.app;
  });

  afterAll(async () => {
    await testApp.close();
    await database.drop();
  });

  const inject = async (options: InjectOptions): Promise<LightMyRequestResponse> => {
    const response = await app.inject(options);
    answers.push(JSON.stringify(response.headers) + response.body);
    return response;
  };
  const cookieOf = (response: LightMyRequestResponse) => {
    const cookie = response.cookies.find((c) => c.name === SESSION_COOKIE);
    if (!cookie) throw new Error("no session cookie");
    return `${SESSION_COOKIE}=${cookie.value}`;
  };
  const signIn = (email: string, password: string, remoteAddress = "10.0.0.1") =>
    inject({ method: "POST", url: "/api/session", payload: { email, password }, remoteAddress });

  it("first owner: the set-up works while no one but the bootstrap admin exists, then 409", async () => {
    expect((await inject({ method: "GET", url: "/api/setup/status" })).json()).toEqual({ needsOwner: true });
    const body = {
      email: "Owner@Example.test",
      name: "Olga Owner",
      password: "correct horse battery",
      orgName: "Acme",
    };
    const created = await inject({ method: "POST", url: "/api/setup/owner", payload: body });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      user: { email: "owner@example.test", name: "Olga Owner" },
      org: { id: DEFAULT_ORG_ID, name: "Acme" },
      role: "owner",
    });
    const me = await inject({ method: "GET", url: "/api/session", headers: { cookie: cookieOf(created) } });
    expect(me.json()).toMatchObject({ role: "owner", csrfToken: created.json<{ csrfToken: string }>().csrfToken });
    expect((await inject({ method: "GET", url: "/api/setup/status" })).json()).toEqual({ needsOwner: false });
    const again = await inject({
      method: "POST",
      url: "/api/setup/owner",
      payload: { ...body, email: "x@example.test" },
    });
    expect(again.statusCode).toBe(409);
    const stored = await database.db
      .selectFrom("users")
      .select("password_hash")
      .where("email", "=", "owner@example.test")
      .executeTakeFirstOrThrow();
    expect(stored.password_hash).toMatch(/^\$argon2id\$/);
    expect(stored.password_hash).not.toContain(body.password);
  });

  let people: Record<Role, TestMember> | undefined;
  const member = async (role: Role) => {
    people ??= Object.fromEntries(
      await Promise.all(ROLES.map(async (r) => [r, await createMember(database.db, r, { orgId: DEFAULT_ORG_ID })])),
    ) as Record<Role, TestMember>;
    return people[role];
  };

  it("answers every route for every role from the route's declared access: 403 below it, never above", async () => {
    const documented = app
      .printRoutes({ commonPrefix: false })
      .split("\n")
      .filter((line) => line.includes("/api/")).length;
    const routes = app.routeAccess.filter((r) => r.method !== "HEAD");
    expect(routes.length).toBeGreaterThanOrEqual(documented);
    for (const route of app.routeAccess)
      expect(["public", ...ROLES], `${route.method} ${route.url}`).toContain(route.access);

    const table: string[] = [];
    const wrong: string[] = [];
    for (const route of routes) {
      if (route.access === "public") continue;
      const url = route.url.replace(/:token/g, "x".repeat(32)).replace(/:[A-Za-z]+/g, ANY_ID);
      const cells: string[] = [];
      for (const role of ROLES) {
        const headers = await sessionHeaders(database.db, await member(role));
        const response = await inject({
          method: route.method as "GET",
          url,
          headers,
          ...(route.method === "GET" ? {} : { payload: {} }),
        });
        const allowed = includes(role, route.access);
        cells.push(`${role}:${response.statusCode}`);
        if (allowed ? [401, 403].includes(response.statusCode) : response.statusCode !== 403) {
          wrong.push(
            `${route.method} ${route.url} as ${role} (needs ${route.access}) → ${response.statusCode} ${response.body.slice(0, 120)}`,
          );
        }
      }
      table.push(`${route.method} ${route.url} [${route.access}] ${cells.join(" ")}`);
    }
    expect(wrong).toEqual([]);
    expect(table.length).toBeGreaterThan(35);
  });

  it("signs in with the right password only; a disabled user cannot", async () => {
    const dev = await member("developer");
    const ok = await signIn(dev.email.toUpperCase(), dev.password);
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({
      user: { id: dev.userId, email: dev.email },
      org: { id: DEFAULT_ORG_ID },
      role: "developer",
    });
    const setCookie = String(ok.headers["set-cookie"]);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Lax");

    const wrong = await signIn(dev.email, "not the password");
    expect(wrong.statusCode).toBe(401);
    const unknown = await signIn("nobody@example.test", "whatever it is");
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toEqual(wrong.json());

    const disabled = await createMember(database.db, "admin", { orgId: DEFAULT_ORG_ID, disabled: true });
    const refused = await signIn(disabled.email, disabled.password);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: "this account is disabled" });
    // A session made before the account was disabled stops working too.
    const headers = await sessionHeaders(database.db, disabled);
    expect((await inject({ method: "GET", url: "/api/projects", headers })).statusCode).toBe(401);

    // The bootstrap token still signs in, as the default organisation's owner.
    const bootstrap = await inject({ method: "POST", url: "/api/session", payload: { token: TOKEN } });
    expect(bootstrap.statusCode).toBe(201);
    expect(bootstrap.json()).toMatchObject({ role: "owner", org: { id: DEFAULT_ORG_ID } });
  });

  it("rate limits sign-in per email and per client address, and says so with 429", async () => {
    const victim = await createMember(database.db, "viewer", { orgId: DEFAULT_ORG_ID });
    for (let i = 0; i < LOGIN_LIMITS.perEmail.max; i++) {
      expect((await signIn(victim.email, "guess", `10.1.0.${i + 1}`)).statusCode).toBe(401);
    }
    const limited = await signIn(victim.email, victim.password, "10.1.1.1");
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: expect.stringContaining("too many sign-in attempts") });

    for (let i = 0; i < LOGIN_LIMITS.perAddress.max; i++) {
      expect((await signIn(`someone${i}@example.test`, "guess", "10.2.0.1")).statusCode).toBe(401);
    }
    const other = await createMember(database.db, "viewer", { orgId: DEFAULT_ORG_ID });
    expect((await signIn(other.email, other.password, "10.2.0.1")).statusCode).toBe(429);
    expect((await signIn(other.email, other.password, "10.2.0.2")).statusCode).toBe(201);
  });

  it("requires the CSRF token on unsafe requests made with the cookie", async () => {
    const { cookie, "x-csrf-token": csrf } = await sessionHeaders(database.db, await member("admin"));
    const name = `p-${randomBytes(3).toString("hex")}`;
    const without = await inject({ method: "POST", url: "/api/projects", payload: { name }, headers: { cookie } });
    expect(without.statusCode).toBe(403);
    const wrong = await inject({
      method: "POST",
      url: "/api/projects",
      payload: { name },
      headers: { cookie, "x-csrf-token": "nope" },
    });
    expect(wrong.statusCode).toBe(403);
    const right = await inject({
      method: "POST",
      url: "/api/projects",
      payload: { name },
      headers: { cookie, "x-csrf-token": csrf },
    });
    expect(right.statusCode).toBe(201);
  });

  it("invites by link: shown once, accepted once, creates the account with the role and signs in", async () => {
    const admin = await sessionHeaders(database.db, await member("admin"));
    const ownerInvite = await inject({
      method: "POST",
      url: "/api/invitations",
      headers: admin,
      payload: { role: "owner" },
    });
    expect(ownerInvite.statusCode).toBe(403);

    const invited = await inject({
      method: "POST",
      url: "/api/invitations",
      headers: admin,
      payload: { role: "developer" },
    });
    expect(invited.statusCode, invited.body).toBe(201);
    const { url, expiresAt } = invited.json<{ url: string; expiresAt: string }>();
    expect(url).toMatch(/^https:\/\/slipway\.example\.test\/invitations\/[A-Za-z0-9_-]{40,}$/);
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now() + 6 * 24 * 3600_000);
    const token = url.split("/").pop() as string;
    const rows = await database.db.selectFrom("invitations").selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(token);

    const offered = await inject({ method: "GET", url: `/api/invitations/${token}` });
    expect(offered.json()).toMatchObject({ org: { id: DEFAULT_ORG_ID, name: "Acme" }, role: "developer", email: null });
    const body = { email: "dora@example.test", name: "Dora Dev", password: "a long enough password" };
    const accepted = await inject({ method: "POST", url: `/api/invitations/${token}/accept`, payload: body });
    expect(accepted.statusCode, accepted.body).toBe(201);
    expect(accepted.json()).toMatchObject({
      role: "developer",
      user: { email: "dora@example.test" },
      org: { id: DEFAULT_ORG_ID },
    });
    const me = await inject({ method: "GET", url: "/api/session", headers: { cookie: cookieOf(accepted) } });
    expect(me.json()).toMatchObject({ role: "developer" });
    const again = await inject({
      method: "POST",
      url: `/api/invitations/${token}/accept`,
      payload: { ...body, email: "e@example.test" },
    });
    expect(again.statusCode).toBe(404);
    expect((await inject({ method: "GET", url: `/api/invitations/${token}` })).statusCode).toBe(404);

    const members = await inject({ method: "GET", url: "/api/members", headers: admin });
    expect(members.json()).toEqual(
      expect.arrayContaining([expect.objectContaining({ email: "dora@example.test", role: "developer" })]),
    );

    const forOne = await inject({
      method: "POST",
      url: "/api/invitations",
      headers: admin,
      payload: { role: "viewer", email: "vic@example.test" },
    });
    const forOneToken = forOne.json<{ url: string }>().url.split("/").pop() as string;
    const stranger = await inject({
      method: "POST",
      url: `/api/invitations/${forOneToken}/accept`,
      payload: { ...body, email: "mallory@example.test" },
    });
    expect(stranger.statusCode).toBe(403);
  });

  it("manages members: admins below owner, owners everything, the last owner stays", async () => {
    const org = await createMember(database.db, "owner"); // a fresh organisation with one owner
    const owner = await sessionHeaders(database.db, org);
    const admin = await createMember(database.db, "admin", { orgId: org.orgId });
    const adminHeaders = await sessionHeaders(database.db, admin);
    const dev = await createMember(database.db, "developer", { orgId: org.orgId });

    const patch = (headers: Record<string, string>, userId: string, role: Role) =>
      inject({ method: "PATCH", url: `/api/members/${userId}`, headers, payload: { role } });
    expect((await patch(adminHeaders, dev.userId, "viewer")).statusCode).toBe(204);
    expect((await patch(adminHeaders, dev.userId, "owner")).statusCode).toBe(403);
    expect((await patch(adminHeaders, org.userId, "viewer")).statusCode).toBe(403);
    expect((await patch(owner, org.userId, "admin")).statusCode).toBe(409);
    expect((await inject({ method: "DELETE", url: `/api/members/${org.userId}`, headers: owner })).statusCode).toBe(
      409,
    );
    expect((await patch(owner, admin.userId, "owner")).statusCode).toBe(204);
    expect((await patch(owner, org.userId, "admin")).statusCode).toBe(204);

    // A removed member's sessions end at once.
    const devHeaders = await sessionHeaders(database.db, dev);
    expect((await inject({ method: "GET", url: "/api/projects", headers: devHeaders })).statusCode).toBe(200);
    expect(
      (await inject({ method: "DELETE", url: `/api/members/${dev.userId}`, headers: adminHeaders })).statusCode,
    ).toBe(204);
    expect((await inject({ method: "GET", url: "/api/projects", headers: devHeaders })).statusCode).toBe(401);
    // Someone of another organisation is not found.
    const elsewhere = await member("viewer");
    expect((await patch(adminHeaders, elsewhere.userId, "admin")).statusCode).toBe(404);
  });

  it("API tokens: shown once, never stored in clear, act with the user's role, dead once revoked", async () => {
    const dev = await member("developer");
    const headers = await sessionHeaders(database.db, dev);
    const created = await inject({ method: "POST", url: "/api/tokens", headers, payload: { name: "ci" } });
    expect(created.statusCode, created.body).toBe(201);
    const { token, id, prefix } = created.json<{ token: string; id: string; prefix: string }>();
    expect(token).toMatch(/^slp_[A-Za-z0-9_-]{43}$/);
    expect(token.startsWith(prefix)).toBe(true);

    const listed = await inject({ method: "GET", url: "/api/tokens", headers });
    expect(listed.body).not.toContain(token);
    expect(listed.json()).toEqual([expect.objectContaining({ id, name: "ci", prefix, revokedAt: null })]);
    const stored = await database.db
      .selectFrom("api_tokens")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(stored.token_hash).toEqual(createHash("sha256").update(token).digest());

    const bearer = { authorization: `Bearer ${token}` };
    const me = await inject({ method: "GET", url: "/api/session", headers: bearer });
    expect(me.json()).toMatchObject({ user: { id: dev.userId }, role: "developer", csrfToken: null });
    // Bearer callers need no CSRF token; the role still applies.
    expect(
      (await inject({ method: "POST", url: "/api/projects", headers: bearer, payload: { name: "nope" } })).statusCode,
    ).toBe(403);
    expect((await inject({ method: "GET", url: "/api/projects", headers: bearer })).statusCode).toBe(200);
    const used = await database.db
      .selectFrom("api_tokens")
      .select("last_used_at")
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(used.last_used_at).not.toBeNull();

    // Someone else cannot revoke it.
    const other = await sessionHeaders(database.db, await member("owner"));
    expect((await inject({ method: "DELETE", url: `/api/tokens/${id}`, headers: other })).statusCode).toBe(404);
    expect((await inject({ method: "DELETE", url: `/api/tokens/${id}`, headers })).statusCode).toBe(204);
    const revoked = await inject({ method: "GET", url: "/api/projects", headers: bearer });
    expect(revoked.statusCode).toBe(401);
    expect(
      (await inject({ method: "GET", url: "/api/projects", headers: { authorization: "Bearer slp_madeup" } }))
        .statusCode,
    ).toBe(401);
    // The token appeared in exactly one answer: the one that created it.
    expect(answers.filter((a) => a.includes(token))).toHaveLength(1);
  });

  it("signs out everywhere: all of the user's sessions and nothing else", async () => {
    const viewer = await member("viewer");
    const [first, second] = [await sessionHeaders(database.db, viewer), await sessionHeaders(database.db, viewer)];
    const someoneElse = await sessionHeaders(database.db, await member("developer"));
    const token = (
      await inject({ method: "POST", url: "/api/tokens", headers: first, payload: { name: "script" } })
    ).json<{
      token: string;
    }>().token;
    const out = await inject({ method: "POST", url: "/api/session/everywhere", headers: first });
    expect(out.statusCode).toBe(200);
    expect(out.json<{ signedOut: number }>().signedOut).toBeGreaterThanOrEqual(2);
    for (const headers of [first, second]) {
      expect((await inject({ method: "GET", url: "/api/session", headers })).statusCode).toBe(401);
    }
    expect((await inject({ method: "GET", url: "/api/session", headers: someoneElse })).statusCode).toBe(200);
    expect(
      (await inject({ method: "GET", url: "/api/session", headers: { authorization: `Bearer ${token}` } })).statusCode,
    ).toBe(200);
  });

  it("keeps organisations apart: another organisation's projects and services do not exist for them", async () => {
    const { projectId, serviceId } = await seedService(database.db); // in the default organisation
    const stranger = await createMember(database.db, "owner");
    const headers = await sessionHeaders(database.db, stranger);
    const projects = await inject({ method: "GET", url: "/api/projects", headers });
    expect(projects.statusCode).toBe(200);
    expect(projects.json()).toEqual([]);
    for (const url of [
      `/api/services/${serviceId}`,
      `/api/projects/${projectId}/services`,
      `/api/services/${serviceId}/variables`,
    ]) {
      expect((await inject({ method: "GET", url, headers })).statusCode, url).toBe(404);
    }
    expect((await inject({ method: "GET", url: "/api/members", headers })).json()).toEqual([
      expect.objectContaining({ userId: stranger.userId }),
    ]);
    const ours = await inject({
      method: "GET",
      url: `/api/services/${serviceId}`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(ours.statusCode).toBe(200);
  });

  it("never answers or logs a password, a password hash or a token", async () => {
    expect(logLines.length).toBeGreaterThan(100);
    expect(logLines.join("\n")).toContain("incoming request");
    const logged = logLines.join("\n");
    for (const secret of [
      TOKEN,
      "correct horse battery",
      "a long enough password",
      "$argon2id$",
      "slp_",
      "slipway_session=",
    ]) {
      expect(logged).not.toContain(secret);
    }
    for (const person of Object.values(people ?? {})) expect(logged).not.toContain(person.password);
    expect(logged).toContain("/invitations/[token]/accept");
    const all = answers.join("\n");
    expect(all).not.toContain("correct horse battery");
    expect(all).not.toContain("a long enough password");
    expect(all).not.toContain("$argon2id$");
    for (const person of Object.values(people ?? {})) expect(all).not.toContain(person.password);
  });
});
