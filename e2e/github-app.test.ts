// The GitHub App integration end to end, against the GitHub stand-in (every response it gives is
// checked against GitHub's OpenAPI description) and a git server that lets a clone through only with
// a token the stand-in minted: create the app from its manifest, bind an installation only for a
// GitHub user who can access it, link a repository, push → build with a per-build token → deploy,
// and watch GitHub's deployment statuses follow — through a rate limit.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../test-support/host.js";
import { apiClient, eventually, type ApiClient } from "../test-support/api.js";
import { removeContainersWithLabel } from "../test-support/containers.js";
import { createTestDatabase, type TestDatabase } from "../test-support/database.js";
import { startGitServer, type GitServer } from "../test-support/git-server.js";
import { createRepo, type TestRepo } from "../test-support/git-repo.js";
import {
  startGitHubStandIn,
  type App,
  type GitHubStandIn,
  type Installation,
} from "../test-support/github-standin/index.js";
import {
  startAgentProcess,
  startControlPlaneProcess,
  type ChildHandle,
  type ControlPlaneProcess,
} from "../test-support/processes.js";
import { BASE_IMAGE, REGISTRY_HOST } from "../test-support/registry.js";
import { pushPayload, signedDelivery, webhookExamples } from "../test-support/webhooks.js";

const TOKEN = randomBytes(32).toString("hex");

const containerfile = [
  `FROM ${BASE_IMAGE}`,
  "COPY www /www",
  'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
  "",
].join("\n");

function decodeHtml(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

describe("the GitHub App integration", () => {
  let database: TestDatabase;
  let gitRoot: string;
  let stateDir: string;
  let git: GitServer;
  let gh: GitHubStandIn;
  let controlPlane: ControlPlaneProcess;
  let agent: ChildHandle;
  let api: ApiClient;
  let publicUrl: string;
  let session: { cookie: string; csrfToken: string };
  let app: App;
  let installation: Installation;
  let repo: TestRepo;
  let projectId: string;
  let serviceId: string;

  /** A browser request with the session cookie, not following redirects. */
  const browse = (url: string, init: RequestInit = {}) =>
    fetch(url, { ...init, redirect: "manual", headers: { ...(init.headers ?? {}), cookie: session.cookie } });

  async function deliver(event: string, payload: unknown) {
    const delivery = await signedDelivery(app.webhookSecret, event, payload);
    const response = await fetch(`${controlPlane.httpUrl}/api/webhooks/github`, {
      method: "POST",
      headers: delivery.headers,
      body: delivery.body,
    });
    return { status: response.status, body: (await response.json()) as { buildIds: string[]; outcome: string } };
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    gitRoot = await mkdtemp(join(tmpdir(), "slipway-gh-git-"));
    stateDir = await mkdtemp(join(tmpdir(), "slipway-gh-agent-"));
    git = await startGitServer(gitRoot, { authorize: (path, token) => gh.authorizeGit(path, token) });
    gh = await startGitHubStandIn({ cloneBaseUrl: git.url, gitRoot });
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    controlPlane = await startControlPlaneProcess({
      DATABASE_URL: database.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      SLIPWAY_BOOTSTRAP_TOKEN: TOKEN,
      SLIPWAY_SECRET_KEY: randomBytes(32).toString("base64"),
      GITHUB_API_URL: gh.url,
      GITHUB_WEB_URL: gh.url,
      PUBLIC_URL: publicUrl,
      HTTP_PORT: String(port),
      REGISTRY_HOST,
      GITHUB_SYNC_INTERVAL_SECONDS: "0.5",
    });
    api = apiClient(controlPlane.httpUrl, TOKEN);
    const login = await fetch(`${controlPlane.httpUrl}/api/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: TOKEN }),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
    expect(login.headers.get("set-cookie")).toMatch(/HttpOnly/i);
    session = { cookie, csrfToken: ((await login.json()) as { csrfToken: string }).csrfToken };

    const { joinToken } = await api.ok<{ joinToken: string }>("POST", "/api/agents", {
      name: "gh-local",
      capabilities: ["build", "deploy"],
    });
    agent = await startAgentProcess({
      SLIPWAY_SERVER: controlPlane.grpcAddress,
      SLIPWAY_JOIN_TOKEN: joinToken,
      SLIPWAY_STATE_DIR: stateDir,
      KILL_GRACE_SECONDS: "2",
    });
  });

  afterAll(async () => {
    await agent?.stop();
    await controlPlane?.stop();
    if (projectId) await removeContainersWithLabel(`slipway.project=${projectId}`);
    await gh?.close();
    await git?.close();
    await database?.drop();
    await rm(gitRoot, { recursive: true, force: true });
    await rm(stateDir, { recursive: true, force: true });
  });

  it("creates the GitHub App from a manifest and keeps its secrets sealed", async () => {
    const page = await browse(`${controlPlane.httpUrl}/api/github/app/manifest?organization=acme`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const action = decodeHtml(/action="([^"]+)"/.exec(html)?.[1] ?? "");
    const manifest = JSON.parse(decodeHtml(/name="manifest" value="([^"]+)"/.exec(html)?.[1] ?? "{}"));
    expect(action).toMatch(new RegExp(`^${gh.url}/organizations/acme/settings/apps/new\\?state=`));
    expect(manifest).toMatchObject({
      hook_attributes: { url: `${publicUrl}/api/webhooks/github` },
      redirect_url: `${publicUrl}/api/github/app/callback`,
      setup_url: `${publicUrl}/api/github/setup`,
      default_permissions: { contents: "read", metadata: "read", deployments: "write", issues: "write" },
    });

    // "Create GitHub App" on GitHub, which sends the browser back with a one-time code.
    const created = await fetch(action, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ manifest: JSON.stringify(manifest) }),
    });
    const callback = created.headers.get("location") as string;
    expect(callback).toMatch(new RegExp(`^${publicUrl}/api/github/app/callback\\?`));
    const done = await browse(callback.replace(publicUrl, controlPlane.httpUrl));
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toMatch(/\/installations\/new$/);
    // The callback cannot be replayed.
    expect((await browse(callback.replace(publicUrl, controlPlane.httpUrl))).status).toBe(400);

    [app] = gh.apps() as [App];
    const stored = await database.db.selectFrom("github_apps").selectAll().executeTakeFirstOrThrow();
    expect(Number(stored.id)).toBe(app.id);
    const sealed = Buffer.concat([stored.private_key_enc, stored.webhook_secret_enc, stored.client_secret_enc]);
    expect(sealed.includes(Buffer.from("PRIVATE KEY"))).toBe(false);
    expect(sealed.includes(Buffer.from(app.webhookSecret))).toBe(false);
  });

  it("binds an installation only for a GitHub user who can access it", async () => {
    installation = gh.addInstallation({
      appId: app.id,
      account: { login: "acme", type: "Organization" },
      repositories: [{ name: "web", private: true }],
    });
    gh.addUser({ login: "alice", installationIds: [installation.id] });
    gh.addUser({ login: "mallory", installationIds: [] });
    const [example] = webhookExamples("installation").filter((e) => e.action === "created");
    const installed = await deliver("installation", {
      ...example,
      installation: {
        ...(example?.installation as object),
        id: installation.id,
        app_id: app.id,
        account: { login: "acme", type: "Organization" },
      },
      repositories: installation.repositories.map((r) => ({
        id: r.id,
        name: r.name,
        full_name: r.fullName,
        private: r.private,
      })),
    });
    expect(installed.status).toBe(202);

    const bindAs = async (login: string) => {
      const setup = await browse(
        `${controlPlane.httpUrl}/api/github/setup?installation_id=${installation.id}&setup_action=install`,
      );
      expect(setup.status).toBe(303);
      const authorize = new URL(setup.headers.get("location") as string);
      authorize.searchParams.set("login", login);
      const approved = await fetch(authorize, { redirect: "manual" });
      const back = (approved.headers.get("location") as string).replace(publicUrl, controlPlane.httpUrl);
      return browse(back);
    };
    const refused = await bindAs("mallory");
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: expect.stringContaining("cannot access installation") });
    const orgOf = async () =>
      (
        await database.db
          .selectFrom("github_installations")
          .select("org_id")
          .where("id", "=", String(installation.id))
          .executeTakeFirstOrThrow()
      ).org_id;
    expect(await orgOf()).toBeNull();

    expect((await bindAs("alice")).status).toBe(303);
    expect(await orgOf()).not.toBeNull();
    const listed = await api.ok<{ total: number; repositories: { id: number; fullName: string }[] }>(
      "GET",
      "/api/github/repositories?search=WEB",
    );
    expect(listed.repositories).toEqual([
      expect.objectContaining({ id: installation.repositories[0]?.id, fullName: "acme/web", private: true }),
    ]);
  });

  it("builds a push with a token for that one repository, and reports the deployment to GitHub", async () => {
    const ghRepo = installation.repositories[0] as Installation["repositories"][number];
    repo = await createRepo(gitRoot, "acme/web");
    projectId = (await api.ok<{ id: string }>("POST", "/api/projects", { name: "gh" })).id;
    serviceId = (
      await api.ok<{ id: string; branch: string }>("POST", `/api/projects/${projectId}/services`, {
        name: "web",
        githubRepoId: ghRepo.id,
        containerPort: 8080,
      })
    ).id;

    const sha = await repo.commit({ Containerfile: containerfile, "www/index.html": "private hello\n" }, "First");
    const payload = pushPayload({ repositoryId: ghRepo.id, branch: "main", sha });
    payload.repository.full_name = "acme/web";
    payload.installation = { id: installation.id };
    const pushed = await deliver("push", payload);
    expect(pushed).toMatchObject({ status: 202, body: { outcome: "queued" } });
    const buildId = pushed.body.buildIds[0] as string;

    const build = await eventually(
      () => api.ok<{ status: string; statusReason: string | null }>("GET", `/api/builds/${buildId}`),
      (b) => ["completed", "failed", "cancelled"].includes(b.status),
      { timeoutMs: 180_000, what: "the build" },
    );
    expect(build.status, build.statusReason ?? "").toBe("completed");

    // The clone used a token minted for this build: one repository, contents:read, nothing more.
    const cloneTokens = gh.mintedTokens().filter((t) => JSON.stringify(t.permissions) === '{"contents":"read"}');
    expect(cloneTokens.length).toBeGreaterThanOrEqual(1);
    for (const token of cloneTokens) expect(token.repositoryIds).toEqual([ghRepo.id]);

    const deployments = await eventually(
      async () => gh.deployments("acme/web"),
      (d) => d[0]?.statuses.at(-1)?.state === "success",
      { timeoutMs: 120_000, what: "the GitHub deployment" },
    );
    expect(deployments).toHaveLength(1);
    expect(deployments[0]).toMatchObject({ sha, environment: "web" });
    expect(deployments[0]?.statuses.map((s) => s.state)).toEqual(["queued", "in_progress", "success"]);
    expect(deployments[0]?.statuses.at(-1)).toMatchObject({
      log_url: `${publicUrl}/builds/${buildId}`,
      environment_url: `${publicUrl}/services/${serviceId}`,
    });

    // No token ever reached a log: the processes' output or the build's log.
    const logs = await api.ok<{ chunks: { text: string }[] }>("GET", `/api/builds/${buildId}/logs`);
    const everything = [...controlPlane.lines, ...agent.lines, ...logs.chunks.map((c) => c.text)].join("\n");
    for (const token of gh.mintedTokens()) expect(everything).not.toContain(token.token);
    expect(everything).not.toMatch(/gh[su]_[A-Za-z0-9]{20,}/);
  });

  it("keeps GitHub's statuses right through a rate limit", async () => {
    const reset = Math.floor(Date.now() / 1000) + 2;
    gh.failNext(
      { method: "POST", pathPattern: /\/deployments\/\d+\/statuses$/ },
      {
        status: 403,
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset), "x-ratelimit-limit": "5000" },
        body: { message: "API rate limit exceeded", documentation_url: "https://docs.github.com/rest/rate-limit" },
      },
    );
    const sha = await repo.commit({ "www/index.html": "private hello again\n" }, "Second");
    const payload = pushPayload({ repositoryId: installation.repositories[0]?.id as number, branch: "main", sha });
    payload.installation = { id: installation.id };
    const pushed = await deliver("push", payload);
    expect(pushed.body.outcome).toBe("queued");
    const deployments = await eventually(
      async () => gh.deployments("acme/web"),
      (d) => d.find((x) => x.sha === sha)?.statuses.at(-1)?.state === "success",
      { timeoutMs: 180_000, what: "the second GitHub deployment" },
    );
    const second = deployments.find((d) => d.sha === sha);
    expect(second?.statuses.map((s) => s.state)).toEqual(["queued", "in_progress", "success"]);
    // GitHub marks the first deployment inactive once the second succeeds.
    expect(deployments.find((d) => d.sha !== sha)?.statuses.at(-1)?.state).toBe("inactive");
    expect(gh.requests().some((r) => r.status === 403 && r.path.endsWith("/statuses"))).toBe(true);
  });

  it("builds a public GitHub repository linked by URL, without any token", async () => {
    gh.addRepository({ owner: "octo", name: "site" });
    const site = await createRepo(gitRoot, "octo/site");
    await site.commit({ Containerfile: containerfile, "www/index.html": "public hello\n" }, "Initial");
    const service = await api.ok<{ id: string; branch: string }>("POST", `/api/projects/${projectId}/services`, {
      name: "site",
      githubUrl: `${gh.url}/octo/site`,
      containerPort: 8080,
    });
    expect(service.branch).toBe("main");
    const cloneTokens = () => gh.mintedTokens().filter((t) => JSON.stringify(t.permissions) === '{"contents":"read"}');
    const tokensBefore = cloneTokens().length;
    const build = await api.ok<{ id: string }>("POST", `/api/services/${service.id}/builds`);
    const done = await eventually(
      () => api.ok<{ status: string; statusReason: string | null }>("GET", `/api/builds/${build.id}`),
      (b) => ["completed", "failed", "cancelled"].includes(b.status),
      { timeoutMs: 180_000, what: "the public build" },
    );
    expect(done.status, done.statusReason ?? "").toBe("completed");
    expect(cloneTokens()).toHaveLength(tokensBefore);
    const privateFails = await api.request("POST", `/api/projects/${projectId}/services`, {
      name: "nope",
      githubUrl: `${gh.url}/acme/web`,
      containerPort: 8080,
    });
    expect(privateFails.status).toBe(422);
  });

  it("served every GitHub response within GitHub's published contract", () => {
    expect(gh.violations()).toEqual([]);
  });
});
