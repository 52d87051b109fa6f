// The GitHub stand-in itself: each endpoint's happy and error paths, auth and token scoping,
// pagination, failure injection, git clones with installation tokens, and — after every test —
// that everything it served matched GitHub's OpenAPI description.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startGitServer, type GitServer } from "../git-server.js";
import { createRepo } from "../git-repo.js";
import {
  loadResponseValidator,
  signAppJwt,
  startGitHubStandIn,
  validateResponse,
  type GitHubStandIn,
} from "./index.js";

const run = promisify(execFile);

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

let gh: GitHubStandIn;
let loadMs = 0;

/** A call to the stand-in's API as Octokit would make it. */
async function api(
  path: string,
  init: { method?: string; token?: string; jwt?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { accept: "application/vnd.github+json", ...init.headers };
  if (init.token) headers.authorization = `token ${init.token}`;
  if (init.jwt) headers.authorization = `Bearer ${init.jwt}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${gh.url}${path}`, {
    method: init.method ?? "GET",
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    redirect: "manual",
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON (redirects, pages)
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** An app with one installation on `acme` and an installation token for it. */
async function setUp(repoNames = ["web", "api"], permissions?: Record<string, string>) {
  const app = gh.createApp({ permissions });
  const installation = gh.addInstallation({
    appId: app.id,
    account: { login: `acme-${app.id}`, type: "Organization" },
    repositories: repoNames.map((name) => ({ name, private: true })),
  });
  const jwt = signAppJwt(app.id, app.privateKeyPem);
  const minted = await api(`/app/installations/${installation.id}/access_tokens`, { method: "POST", jwt });
  expect(minted.status).toBe(201);
  return { app, installation, jwt, token: String(minted.body.token) };
}

beforeAll(async () => {
  const started = performance.now();
  await loadResponseValidator();
  await validateResponse("GET", "/app", 200, {});
  loadMs = performance.now() - started;
  gh = await startGitHubStandIn();
});

afterAll(async () => {
  console.log(`OpenAPI description load + first validation: ${Math.round(loadMs)} ms`);
  await gh.close();
});

// Whatever a test did, the stand-in must have answered in GitHub's documented shapes.
let violationsSeen = 0;
afterEach(() => {
  const all = gh.violations();
  const fresh = all.slice(violationsSeen);
  violationsSeen = all.length;
  expect(fresh).toEqual([]);
});

describe("response validation", () => {
  it("catches a body that does not match the documented schema", async () => {
    const { token, installation } = await setUp(["shop"]);
    const created = await api(`/repos/${installation.account.login}/shop/deployments`, {
      method: "POST",
      token,
      body: { ref: "a".repeat(40), environment: "production" },
    });
    expect(created.status).toBe(201);
    const template = "/repos/{owner}/{repo}/deployments";
    expect(await validateResponse("POST", template, 201, created.body)).toBeNull();

    const { id: _id, ...withoutId } = created.body;
    const violation = await validateResponse("POST", template, 201, withoutId);
    expect(violation).toContain("POST /repos/{owner}/{repo}/deployments → 201");
    expect(violation).toContain("'id'");
    expect(await validateResponse("POST", template, 201, { ...created.body, creator: { login: 7 } })).toMatch(
      /\/creator/,
    );
    // Error bodies are held to their documented shape too, and undocumented successes are flagged.
    expect(await validateResponse("GET", "/repos/{owner}/{repo}", 404, { message: 404 })).toMatch(/\/message/);
    expect(await validateResponse("GET", "/app", 204, undefined)).toMatch(/not documented/);
    expect(await validateResponse("GET", "/no/such/operation", 200, {})).toMatch(/not in GitHub's OpenAPI/);
  });

  it("accepts OpenAPI nullable fields as null", async () => {
    const { token, installation } = await setUp(["nulls"]);
    const created = await api(`/repos/${installation.account.login}/nulls/deployments`, {
      method: "POST",
      token,
      body: { ref: "b".repeat(40) },
    });
    expect(created.body.description).toBeNull();
    expect(created.body.performed_via_github_app).not.toBeNull();
    const body = { ...created.body, creator: null, performed_via_github_app: null };
    expect(await validateResponse("POST", "/repos/{owner}/{repo}/deployments", 201, body)).toBeNull();
  });

  it("serves GitHub's headers on API responses", async () => {
    const answer = await api("/repos/nobody/nothing");
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ message: "Not Found", documentation_url: expect.any(String) });
    expect(answer.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(answer.headers.get("x-ratelimit-limit")).toBe("60");
    expect(Number(answer.headers.get("x-ratelimit-remaining"))).toBeLessThan(60);
    expect(Number(answer.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
    expect(answer.headers.get("x-github-request-id")).toMatch(/^[0-9A-F]+(:[0-9A-F]+){4}$/);
  });
});

describe("app manifest flow", () => {
  const manifest = {
    name: "Slipway Manifest Test",
    url: "https://slipway.example.com",
    hook_attributes: { url: "https://slipway.example.com/webhooks/github" },
    redirect_url: "https://slipway.example.com/github/manifest-callback",
    callback_urls: ["https://slipway.example.com/github/callback"],
    setup_url: "https://slipway.example.com/github/setup",
    public: false,
    default_permissions: { contents: "read", deployments: "write" },
    default_events: ["push"],
  };

  async function register(path: string, body: typeof manifest) {
    const response = await fetch(`${gh.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ manifest: JSON.stringify(body) }).toString(),
      redirect: "manual",
    });
    return response;
  }

  it("redirects with a code that converts once into the app and its credentials", async () => {
    const response = await register("/settings/apps/new?state=s-123", manifest);
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location") ?? "");
    expect(`${location.origin}${location.pathname}`).toBe(manifest.redirect_url);
    expect(location.searchParams.get("state")).toBe("s-123");
    const code = location.searchParams.get("code") ?? "";

    const converted = await api(`/app-manifests/${code}/conversions`, { method: "POST" });
    expect(converted.status).toBe(201);
    expect(converted.body).toMatchObject({
      slug: "slipway-manifest-test",
      name: manifest.name,
      external_url: manifest.url,
      permissions: { contents: "read", deployments: "write", metadata: "read" },
      events: ["push"],
      client_id: expect.stringMatching(/^Iv23/),
      client_secret: expect.stringMatching(/^[0-9a-f]{40}$/),
      webhook_secret: expect.any(String),
      pem: expect.stringContaining("BEGIN RSA PRIVATE KEY"),
    });
    expect(gh.apps().map((a) => a.id)).toContain(converted.body.id);

    // The key works for app JWTs.
    const app = await api("/app", { jwt: signAppJwt(Number(converted.body.id), String(converted.body.pem)) });
    expect(app.status).toBe(200);
    expect(app.body.id).toBe(converted.body.id);

    expect((await api(`/app-manifests/${code}/conversions`, { method: "POST" })).status).toBe(404);
    expect((await api(`/app-manifests/nope/conversions`, { method: "POST" })).status).toBe(404);
  });

  it("makes an organization the owner on the organization route, and refuses a taken name", async () => {
    const response = await register("/organizations/acme-corp/settings/apps/new", {
      ...manifest,
      name: "Slipway Org App",
    });
    const code = new URL(response.headers.get("location") ?? "").searchParams.get("code");
    const converted = await api(`/app-manifests/${code}/conversions`, { method: "POST" });
    expect(converted.body.owner).toMatchObject({ login: "acme-corp", type: "Organization" });

    const again = await register("/settings/apps/new", { ...manifest, name: "Slipway Org App" });
    const code2 = new URL(again.headers.get("location") ?? "").searchParams.get("code");
    const refused = await api(`/app-manifests/${code2}/conversions`, { method: "POST" });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual(["Name is already in use"]);
  });
});

describe("app JWT auth", () => {
  it("accepts the app id as number or string, or the client id, as issuer", async () => {
    const app = gh.createApp({ slug: "jwt-issuers" });
    for (const issuer of [app.id, String(app.id), app.clientId]) {
      const answer = await api("/app", { jwt: signAppJwt(issuer, app.privateKeyPem) });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ id: app.id, slug: "jwt-issuers", client_id: app.clientId });
    }
  });

  it("refuses a wrong key, an expired or too long JWT, and other credentials with 401", async () => {
    const app = gh.createApp();
    const other = gh.createApp();
    const now = Math.floor(Date.now() / 1000);
    const refused = [
      signAppJwt(app.id, other.privateKeyPem),
      signAppJwt(app.id, app.privateKeyPem, { issuedAt: now - 1200, expiresAt: now - 600 }),
      signAppJwt(app.id, app.privateKeyPem, { issuedAt: now, expiresAt: now + 3600 }),
      signAppJwt(999_999_999, app.privateKeyPem),
      "not-a-jwt",
    ];
    for (const jwt of refused) {
      const answer = await api("/app", { jwt });
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({
        message: expect.any(String),
        documentation_url: "https://docs.github.com/rest/apps/apps#get-the-authenticated-app",
        status: "401",
      });
    }
    expect((await api("/app")).status).toBe(401);
    const { token } = await setUp(["jwt-only"]);
    expect((await api("/app", { token })).status).toBe(401);
  });

  it("shows an app only its own installations", async () => {
    const { app, installation, jwt } = await setUp(["mine"]);
    const own = await api(`/app/installations/${installation.id}`, { jwt });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({
      id: installation.id,
      app_id: app.id,
      account: { login: installation.account.login, type: "Organization" },
      repository_selection: "selected",
      permissions: { contents: "read", deployments: "write", metadata: "read" },
    });
    const stranger = gh.createApp();
    const jwt2 = signAppJwt(stranger.id, stranger.privateKeyPem);
    expect((await api(`/app/installations/${installation.id}`, { jwt: jwt2 })).status).toBe(404);
    expect((await api(`/app/installations/123`, { jwt })).status).toBe(404);
  });
});

describe("installation access tokens", () => {
  it("mints an hour-long token for the whole installation", async () => {
    const { installation, jwt } = await setUp(["a", "b"]);
    const before = Date.now();
    const answer = await api(`/app/installations/${installation.id}/access_tokens`, { method: "POST", jwt });
    const after = Date.now();
    expect(answer.status).toBe(201);
    expect(answer.body.token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    // An hour from when the stand-in answered, to the second (GitHub's timestamps have no milliseconds).
    const expires = Date.parse(String(answer.body.expires_at));
    expect(expires).toBeGreaterThan(before + 3600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(after + 3600_000);
    expect(answer.body.permissions).toEqual({ contents: "read", deployments: "write", metadata: "read" });
    expect(answer.body.repositories).toBeUndefined();
    const minted = gh.mintedTokens().find((t) => t.token === answer.body.token);
    expect(minted).toMatchObject({ installationId: installation.id, repositoryIds: null });
  });

  it("narrows to repositories by id or name, and to fewer permissions", async () => {
    const { installation, jwt } = await setUp(["one", "two", "three"]);
    const [one, two] = installation.repositories;
    const answer = await api(`/app/installations/${installation.id}/access_tokens`, {
      method: "POST",
      jwt,
      body: { repository_ids: [one?.id], repositories: ["TWO"], permissions: { contents: "read" } },
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ repository_selection: "selected", permissions: { contents: "read" } });
    expect((answer.body.repositories as { full_name: string }[]).map((r) => r.full_name)).toEqual([
      one?.fullName,
      two?.fullName,
    ]);
    const token = String(answer.body.token);
    expect(gh.mintedTokens().find((t) => t.token === token)?.repositoryIds).toEqual([one?.id, two?.id]);
    expect(gh.isValidCloneToken(token, one?.fullName ?? "")).toBe(true);
    expect(gh.isValidCloneToken(token, installation.repositories[2]?.fullName ?? "")).toBe(false);
  });

  it("refuses repositories outside the installation, excess permissions, and other apps' installations", async () => {
    const { installation, jwt } = await setUp(["inside"]);
    const outside = gh.addRepository({ owner: "someone", name: "outside" });
    const path = `/app/installations/${installation.id}/access_tokens`;
    for (const body of [{ repository_ids: [outside.id] }, { repositories: ["outside"] }]) {
      const answer = await api(path, { method: "POST", jwt, body });
      expect(answer.status).toBe(422);
      expect(answer.body.message).toMatch(/not accessible to the parent installation/);
    }
    for (const permissions of [{ contents: "write" }, { administration: "read" }]) {
      const answer = await api(path, { method: "POST", jwt, body: { permissions } });
      expect(answer.status).toBe(422);
      expect(answer.body.message).toBe("The permissions requested are not granted to this installation.");
    }
    const stranger = gh.createApp();
    const jwt2 = signAppJwt(stranger.id, stranger.privateKeyPem);
    expect((await api(path, { method: "POST", jwt: jwt2 })).status).toBe(404);
    expect((await api(path, { method: "POST" })).status).toBe(401);
  });
});

describe("installation repositories", () => {
  it("paginates with GitHub's Link header", async () => {
    const { token, installation } = await setUp(["r1", "r2", "r3", "r4", "r5"]);
    const first = await api("/installation/repositories?per_page=2", { token });
    expect(first.status).toBe(200);
    expect(first.body.total_count).toBe(5);
    expect(first.body.repository_selection).toBe("selected");
    const names = (answer: Answer) => (answer.body.repositories as { name: string }[]).map((r) => r.name);
    expect(names(first)).toEqual(["r1", "r2"]);
    expect(first.headers.get("link")).toBe(
      `<${gh.url}/installation/repositories?per_page=2&page=2>; rel="next", ` +
        `<${gh.url}/installation/repositories?per_page=2&page=3>; rel="last"`,
    );

    const second = await api("/installation/repositories?per_page=2&page=2", { token });
    expect(names(second)).toEqual(["r3", "r4"]);
    expect(second.headers.get("link")).toBe(
      `<${gh.url}/installation/repositories?per_page=2&page=1>; rel="prev", ` +
        `<${gh.url}/installation/repositories?per_page=2&page=3>; rel="next", ` +
        `<${gh.url}/installation/repositories?per_page=2&page=3>; rel="last", ` +
        `<${gh.url}/installation/repositories?per_page=2&page=1>; rel="first"`,
    );
    const last = await api("/installation/repositories?per_page=2&page=3", { token });
    expect(names(last)).toEqual(["r5"]);
    expect(last.headers.get("link")).not.toContain('rel="next"');

    const all = await api("/installation/repositories", { token });
    expect(names(all)).toHaveLength(5);
    expect(all.headers.get("link")).toBeNull();
    expect((all.body.repositories as { clone_url: string }[])[0]?.clone_url).toBe(
      `${gh.url}/git/${installation.account.login}/r1.git`,
    );
  });

  it("lists only the token's repositories, and drops ones removed from the installation", async () => {
    const { installation, jwt, token } = await setUp(["keep", "drop", "other"]);
    const [keep, drop] = installation.repositories;
    const narrowed = await api(`/app/installations/${installation.id}/access_tokens`, {
      method: "POST",
      jwt,
      body: { repository_ids: [keep?.id, drop?.id] },
    });
    const narrowToken = String(narrowed.body.token);
    const listed = await api("/installation/repositories", { token: narrowToken });
    expect(listed.body.total_count).toBe(2);

    gh.removeRepositoryFromInstallation(installation.id, drop?.id ?? 0);
    expect((await api("/installation/repositories", { token: narrowToken })).body.total_count).toBe(1);
    expect((await api("/installation/repositories", { token })).body.total_count).toBe(2);
    expect(gh.isValidCloneToken(token, drop?.fullName ?? "")).toBe(false);
    expect(gh.isValidCloneToken(token, keep?.fullName ?? "")).toBe(true);
  });

  it("requires an installation token", async () => {
    expect((await api("/installation/repositories")).status).toBe(401);
    expect((await api("/installation/repositories", { token: "ghs_bogus" })).status).toBe(401);
  });
});

describe("user authorization and installations", () => {
  it("authorizes a user, exchanges the code once, and lists the user's installations of that app", async () => {
    const { app, installation } = await setUp(["u1"]);
    const second = gh.addInstallation({
      appId: app.id,
      account: { login: `solo-${app.id}`, type: "User" },
      repositories: [{ name: "dotfiles" }],
    });
    const unrelated = await setUp(["elsewhere"]);
    const user = gh.addUser({ login: `dev-${app.id}`, installationIds: [installation.id, second.id] });
    gh.addUser({ login: `other-${app.id}`, installationIds: [unrelated.installation.id] });

    const authorize = await fetch(
      `${gh.url}/login/oauth/authorize?client_id=${app.clientId}&redirect_uri=${encodeURIComponent(
        "https://slipway.example.com/auth/github/callback",
      )}&state=st8&login=${user.login}`,
      { redirect: "manual" },
    );
    expect(authorize.status).toBe(302);
    const location = new URL(authorize.headers.get("location") ?? "");
    expect(location.pathname).toBe("/auth/github/callback");
    expect(location.searchParams.get("state")).toBe("st8");
    const code = location.searchParams.get("code") ?? "";

    const exchange = (body: Record<string, string>, accept = "application/json") =>
      fetch(`${gh.url}/login/oauth/access_token`, {
        method: "POST",
        headers: { accept, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(body).toString(),
      });
    const credentials = { client_id: app.clientId, client_secret: app.clientSecret };
    const tokenAnswer = await exchange({ ...credentials, code });
    expect(tokenAnswer.status).toBe(200);
    const tokens = (await tokenAnswer.json()) as Record<string, unknown>;
    expect(tokens).toMatchObject({ access_token: expect.stringMatching(/^ghu_/), token_type: "bearer", scope: "" });

    const reused = (await (await exchange({ ...credentials, code })).json()) as Record<string, unknown>;
    expect(reused).toMatchObject({ error: "bad_verification_code", error_description: expect.any(String) });
    const badSecret = (await (await exchange({ ...credentials, client_secret: "x", code })).json()) as Record<
      string,
      unknown
    >;
    expect(badSecret.error).toBe("incorrect_client_credentials");

    const userToken = String(tokens.access_token);
    const listed = await api("/user/installations", { token: userToken });
    expect(listed.status).toBe(200);
    expect(listed.body.total_count).toBe(2);
    const accounts = (listed.body.installations as { account: { login: string } }[]).map((i) => i.account.login);
    expect(accounts).toEqual([installation.account.login, `solo-${app.id}`]);
    const paged = await api("/user/installations?per_page=1", { token: userToken });
    expect(paged.headers.get("link")).toContain('rel="next"');

    // A refresh token buys a new user token; form-encoded unless JSON is asked for.
    const refreshed = await exchange(
      { ...credentials, grant_type: "refresh_token", refresh_token: String(tokens.refresh_token) },
      "*/*",
    );
    expect(refreshed.headers.get("content-type")).toContain("application/x-www-form-urlencoded");
    const fresh = new URLSearchParams(await refreshed.text());
    expect(fresh.get("access_token")).toMatch(/^ghu_/);

    expect((await api("/user/installations")).status).toBe(401);
    expect((await api("/user/installations", { token: "ghu_bogus" })).status).toBe(401);
    const { token: installationToken } = await setUp(["x"]);
    expect((await api("/user/installations", { token: installationToken })).status).toBe(403);
  });

  it("sends the user back to the registered callback when redirect_uri does not match it", async () => {
    const app = gh.createApp({ callbackUrls: ["https://slipway.example.com/cb"] });
    gh.addUser({ login: `cb-${app.id}`, installationIds: [] });
    const answer = await fetch(
      `${gh.url}/login/oauth/authorize?client_id=${app.clientId}&redirect_uri=https://evil.example.com/cb`,
      { redirect: "manual" },
    );
    const location = new URL(answer.headers.get("location") ?? "");
    expect(location.origin + location.pathname).toBe("https://slipway.example.com/cb");
    expect(location.searchParams.get("error")).toBe("redirect_uri_mismatch");
    const withoutUri = await fetch(`${gh.url}/login/oauth/authorize?client_id=${app.clientId}`, { redirect: "manual" });
    expect(new URL(withoutUri.headers.get("location") ?? "").searchParams.get("code")).toBeTruthy();
    const unknown = await fetch(`${gh.url}/login/oauth/authorize?client_id=nope`, { redirect: "manual" });
    expect(unknown.status).toBe(404);
  });
});

describe("repositories", () => {
  it("shows public repositories to anyone and private ones only to tokens covering them", async () => {
    const open = gh.addRepository({ owner: "octo-public", name: "hello" });
    const anonymous = await api("/repos/octo-public/hello");
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toMatchObject({ id: open.id, full_name: "octo-public/hello", private: false });
    expect(anonymous.body.permissions).toBeUndefined();
    // Names are case-insensitive, as on GitHub.
    expect((await api("/repos/OCTO-PUBLIC/Hello")).status).toBe(200);

    const { installation, token } = await setUp(["secret"]);
    const path = `/repos/${installation.account.login}/secret`;
    const hidden = await api(path);
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual({
      message: "Not Found",
      documentation_url: "https://docs.github.com/rest/repos/repos#get-a-repository",
      status: "404",
    });
    const shown = await api(path, { token });
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      private: true,
      visibility: "private",
      permissions: { pull: true, push: false },
    });
    const other = await setUp(["unrelated"]);
    expect((await api(path, { token: other.token })).status).toBe(404);
    expect((await api(path, { token: "ghs_expired_or_bogus" })).status).toBe(401);
  });
});

describe("deployments", () => {
  const sha = "0123456789abcdef0123456789abcdef01234567";

  it("creates a deployment and statuses, retiring the previous successful one", async () => {
    const { token, installation, app } = await setUp(["site"]);
    const repoPath = `/repos/${installation.account.login}/site`;
    const create = (environment: string) =>
      api(`${repoPath}/deployments`, {
        method: "POST",
        token,
        body: {
          ref: sha,
          environment,
          description: "Slipway deploy",
          auto_merge: false,
          required_contexts: [],
          payload: { slipway: { deploymentId: "d-1" } },
          transient_environment: false,
          production_environment: environment === "production",
        },
      });
    const first = await create("production");
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      sha,
      ref: sha,
      task: "deploy",
      environment: "production",
      payload: { slipway: { deploymentId: "d-1" } },
      creator: { login: `${app.slug}[bot]`, type: "Bot" },
      performed_via_github_app: { id: app.id },
    });
    expect(first.headers.get("location")).toBe(first.body.url);
    const status = (id: unknown, body: Record<string, unknown>) =>
      api(`${repoPath}/deployments/${String(id)}/statuses`, { method: "POST", token, body });

    const progress = await status(first.body.id, { state: "in_progress", log_url: "https://slipway.example.com/b/1" });
    expect(progress.status).toBe(201);
    expect(progress.body).toMatchObject({
      state: "in_progress",
      log_url: "https://slipway.example.com/b/1",
      target_url: "https://slipway.example.com/b/1",
      environment: "production",
      environment_url: "",
    });
    await status(first.body.id, { state: "success", environment_url: "https://site.example.com" });

    const preview = await create("preview");
    await status(preview.body.id, { state: "success" });
    const second = await create("production");
    await status(second.body.id, { state: "success", description: "Live" });

    const fullName = `${installation.account.login}/site`;
    const recorded = gh.deployments(fullName);
    // As GitHub documents, auto_inactive retires only non-production, non-transient deployments.
    expect(recorded.map((d) => [d.environment, d.statuses.map((s) => s.state)])).toEqual([
      ["production", ["in_progress", "success"]],
      ["preview", ["success"]],
      ["production", ["success"]],
    ]);
    expect(recorded[2]?.statuses[0]).toEqual({ state: "success", description: "Live" });
    expect(recorded[0]?.statuses[1]).toEqual({ state: "success", environment_url: "https://site.example.com" });
    expect(recorded[0]).toMatchObject({ ref: sha, sha, payload: { slipway: { deploymentId: "d-1" } } });

    // auto_inactive: false leaves the earlier one alone.
    const third = await create("preview");
    await status(third.body.id, { state: "success", auto_inactive: false });
    expect(gh.deployments(fullName)[1]?.statuses.map((s) => s.state)).toEqual(["success"]);
    // A later preview success with the default retires the earlier previews.
    const fourth = await create("preview");
    await status(fourth.body.id, { state: "success" });
    expect(gh.deployments(fullName)[1]?.statuses.map((s) => s.state)).toEqual(["success", "inactive"]);
  });

  it("keeps tokens to their repositories and permissions", async () => {
    const { installation, jwt } = await setUp(["repo-a", "repo-b"]);
    const [a, b] = installation.repositories;
    const forA = await api(`/app/installations/${installation.id}/access_tokens`, {
      method: "POST",
      jwt,
      body: { repository_ids: [a?.id] },
    });
    const tokenA = String(forA.body.token);
    const deploy = (fullName: string, token?: string) =>
      api(`/repos/${fullName}/deployments`, { method: "POST", token, body: { ref: sha } });

    expect((await deploy(a?.fullName ?? "", tokenA)).status).toBe(201);
    expect((await deploy(b?.fullName ?? "", tokenA)).status).toBe(404); // private and out of scope: hidden
    expect((await deploy(b?.fullName ?? "")).status).toBe(404);
    expect((await deploy(a?.fullName ?? "", "ghs_nope")).status).toBe(401);

    const open = gh.addRepository({ owner: `pub-${installation.id}`, name: "open" });
    const onPublic = await deploy(open.fullName, tokenA);
    expect(onPublic.status).toBe(403);
    expect(onPublic.body.message).toBe("Resource not accessible by integration");
    expect((await deploy(open.fullName)).status).toBe(401);

    const readOnly = await api(`/app/installations/${installation.id}/access_tokens`, {
      method: "POST",
      jwt,
      body: { permissions: { contents: "read" } },
    });
    expect((await deploy(a?.fullName ?? "", String(readOnly.body.token))).status).toBe(403);
    expect(gh.isValidCloneToken(String(readOnly.body.token), a?.fullName ?? "")).toBe(true);
    expect(gh.deployments(a?.fullName ?? "")).toHaveLength(1);
  });

  it("refuses bad input like GitHub", async () => {
    const { token, installation } = await setUp(["strict"]);
    const repoPath = `/repos/${installation.account.login}/strict`;
    const missingRef = await api(`${repoPath}/deployments`, { method: "POST", token, body: { environment: "x" } });
    expect(missingRef.status).toBe(422);
    const badJson = await fetch(`${gh.url}${repoPath}/deployments`, {
      method: "POST",
      headers: { authorization: `token ${token}`, "content-type": "application/json" },
      body: "{not json",
    });
    expect(badJson.status).toBe(400);

    const created = await api(`${repoPath}/deployments`, { method: "POST", token, body: { ref: sha } });
    const statuses = `${repoPath}/deployments/${String(created.body.id)}/statuses`;
    const badState = await api(statuses, { method: "POST", token, body: { state: "done" } });
    expect(badState.status).toBe(422);
    expect(badState.body.errors).toEqual([{ resource: "DeploymentStatus", code: "invalid", field: "state" }]);
    const relative = await api(statuses, { method: "POST", token, body: { state: "success", log_url: "/b/1" } });
    expect(relative.status).toBe(422);
    const long = await api(statuses, { method: "POST", token, body: { state: "error", description: "x".repeat(141) } });
    expect(long.status).toBe(422);
    expect(
      (await api(`${repoPath}/deployments/1/statuses`, { method: "POST", token, body: { state: "success" } })).status,
    ).toBe(404);
  });
});

describe("failure injection", () => {
  it("answers the next matching requests as told, then goes back to normal", async () => {
    const { token, installation } = await setUp(["limited"]);
    const reset = String(Math.floor(Date.now() / 1000) + 60);
    gh.failNext(
      { method: "GET", pathPattern: /^\/installation\/repositories$/ },
      {
        status: 403,
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset },
        body: {
          message: "API rate limit exceeded for installation.",
          documentation_url: "https://docs.github.com/rest",
        },
      },
    );
    gh.failNext(
      { method: "POST", pathPattern: /\/deployments$/g },
      { status: 429, headers: { "retry-after": "1" } },
      2,
    );
    gh.failNext({ method: "GET", pathPattern: /^\/repos\// }, { status: 500, body: { message: "Server Error" } });

    const limited = await api("/installation/repositories", { token });
    expect(limited.status).toBe(403);
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(limited.headers.get("x-ratelimit-reset")).toBe(reset);
    expect((await api("/installation/repositories", { token })).status).toBe(200);

    const deploy = () =>
      api(`/repos/${installation.account.login}/limited/deployments`, {
        method: "POST",
        token,
        body: { ref: "c".repeat(40) },
      });
    const throttled = await deploy();
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("1");
    expect((await deploy()).status).toBe(429);
    expect((await deploy()).status).toBe(201);

    expect((await api(`/repos/${installation.account.login}/limited`, { token })).status).toBe(500);
    expect((await api(`/repos/${installation.account.login}/limited`, { token })).status).toBe(200);

    const log = gh.requests().filter((r) => r.path.includes("/limited") || r.path === "/installation/repositories");
    expect(log.slice(-7).map((r) => r.status)).toEqual([403, 200, 429, 429, 201, 500, 200]);
  });
});

describe("git clone with installation tokens", () => {
  let root: string;
  let git: GitServer;
  let standIn: GitHubStandIn;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "slipway-standin-git-"));
    git = await startGitServer(root, { authorize: (path, token) => standIn.authorizeGit(path, token) });
    standIn = await startGitHubStandIn({ cloneBaseUrl: git.url, gitRoot: root });
  });

  afterAll(async () => {
    expect(standIn.violations()).toEqual([]);
    await standIn.close();
    await git.close();
    await rm(root, { recursive: true, force: true });
  });

  /** Runs git with no prompts, no user/system config, and the token (if any) only in the environment. */
  function clone(url: string, target: string, token?: string) {
    const header = token ? `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}` : "";
    return run("git", ["clone", "--quiet", url, target], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: root,
        GIT_TERMINAL_PROMPT: "0",
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_GLOBAL: "/dev/null",
        ...(token ? { GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "http.extraHeader", GIT_CONFIG_VALUE_0: header } : {}),
      },
    });
  }

  it("clones a private repository with a minted token, and not without one", async () => {
    const app = standIn.createApp();
    const installation = standIn.addInstallation({
      appId: app.id,
      account: { login: "acme", type: "Organization" },
      repositories: [
        { name: "web", private: true },
        { name: "other", private: true },
      ],
    });
    const [web, other] = installation.repositories;
    const repo = await createRepo(root, "acme/web");
    const sha = await repo.commit({ "README.md": "hello\n" }, "first");
    expect(web?.cloneUrl).toBe(`${git.url}/acme/web.git`);

    const minted = await fetch(`${standIn.url}/app/installations/${installation.id}/access_tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${signAppJwt(app.id, app.privateKeyPem)}`, "content-type": "application/json" },
      body: JSON.stringify({ repository_ids: [web?.id], permissions: { contents: "read" } }),
    });
    const token = String(((await minted.json()) as { token: string }).token);

    await clone(web?.cloneUrl ?? "", join(root, "clone-ok"), token);
    const { stdout } = await run("git", ["-C", join(root, "clone-ok"), "rev-parse", "HEAD"]);
    expect(stdout.trim()).toBe(sha);

    await expect(
      clone(web?.cloneUrl ?? "", join(root, "clone-bad"), "ghs_wrongwrongwrongwrongwrongwrongwron"),
    ).rejects.toThrow(/terminal prompts disabled|Authentication failed/);
    await expect(clone(web?.cloneUrl ?? "", join(root, "clone-none"))).rejects.toThrow(/terminal prompts disabled/);

    // A token for one repository does not open another.
    await createRepo(root, "acme/other");
    expect(standIn.isValidCloneToken(token, other?.fullName ?? "")).toBe(false);
    await expect(clone(other?.cloneUrl ?? "", join(root, "clone-other"), token)).rejects.toThrow();

    // Deployments resolve branch names to commits from the repository, as GitHub does.
    const deployed = await fetch(`${standIn.url}/repos/acme/web/deployments`, {
      method: "POST",
      headers: { authorization: `token ${await deployToken(app.id, app.privateKeyPem, installation.id)}` },
      body: JSON.stringify({ ref: "main" }),
    });
    expect(deployed.status).toBe(201);
    expect(((await deployed.json()) as { sha: string }).sha).toBe(sha);
    const missing = await fetch(`${standIn.url}/repos/acme/web/deployments`, {
      method: "POST",
      headers: { authorization: `token ${await deployToken(app.id, app.privateKeyPem, installation.id)}` },
      body: JSON.stringify({ ref: "no-such-branch" }),
    });
    expect(missing.status).toBe(422);
  });

  it("lets anyone clone a public repository", async () => {
    standIn.addRepository({ owner: "octo", name: "public" });
    const repo = await createRepo(root, "octo/public");
    await repo.commit({ "a.txt": "a\n" }, "a");
    await clone(`${git.url}/octo/public.git`, join(root, "public-clone"));
  });

  async function deployToken(appId: number, pem: string, installationId: number): Promise<string> {
    const answer = await fetch(`${standIn.url}/app/installations/${installationId}/access_tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${signAppJwt(appId, pem)}` },
    });
    return String(((await answer.json()) as { token: string }).token);
  }
});
