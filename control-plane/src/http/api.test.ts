// The REST API through the real app: authentication on every route, validation, and the happy path.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/database.js";
import { startGitServer, type GitServer } from "../../../test-support/git-server.js";
import { createRepo } from "../../../test-support/git-repo.js";
import { buildTestApp, type TestApp } from "../../../test-support/app.js";
import { queueBuilds, seedAgents } from "../../../test-support/fixtures.js";

const TOKEN = randomBytes(32).toString("hex");

describe("REST API", () => {
  let database: TestDatabase;
  let testApp: TestApp;
  let app: FastifyInstance;
  let gitRoot: string;
  let git: GitServer;

  beforeAll(async () => {
    database = await createTestDatabase();
    testApp = await buildTestApp(database.db, {
      GITHUB_WEBHOOK_SECRET: "x".repeat(32),
      SLIPWAY_BOOTSTRAP_TOKEN: TOKEN,
    });
    app = testApp.app;
    gitRoot = await mkdtemp(join(tmpdir(), "slipway-api-git-"));
    git = await startGitServer(gitRoot);
  });

  afterAll(async () => {
    await testApp.close();
    await git.close();
    await rm(gitRoot, { recursive: true, force: true });
    await database.drop();
  });

  const call = (
    method: "GET" | "POST" | "PATCH" | "PUT",
    url: string,
    payload?: unknown,
    token: string | null = TOKEN,
  ) =>
    app.inject({
      method,
      url,
      payload: payload as never,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });

  it("requires the bootstrap token on every API route, and says nothing else without it", async () => {
    const routes = app
      .printRoutes({ commonPrefix: false })
      .split("\n")
      .filter((line) => line.includes("/api/"));
    expect(routes.length).toBeGreaterThan(5);
    const id = "00000000-0000-4000-8000-000000000000";
    const probes: ["GET" | "POST" | "PATCH" | "PUT", string][] = [
      ["GET", "/api/projects"],
      ["POST", "/api/projects"],
      ["GET", `/api/projects/${id}/services`],
      ["POST", `/api/projects/${id}/services`],
      ["GET", `/api/services/${id}`],
      ["PATCH", `/api/services/${id}`],
      ["POST", `/api/services/${id}/builds`],
      ["GET", "/api/builds"],
      ["GET", `/api/builds/${id}`],
      ["GET", `/api/builds/${id}/logs`],
      ["GET", `/api/services/${id}/deployments`],
      ["POST", `/api/services/${id}/deployments`],
      ["POST", `/api/services/${id}/restart`],
      ["POST", `/api/services/${id}/stop`],
      ["POST", `/api/services/${id}/start`],
      ["GET", `/api/deployments/${id}`],
      ["GET", "/api/agents"],
      ["POST", "/api/agents"],
      ["PATCH", `/api/agents/${id}`],
      ["GET", "/api/webhook-deliveries"],
      ["GET", `/api/services/${id}/variables`],
      ["PUT", `/api/services/${id}/variables`],
      ["PATCH", `/api/services/${id}/variables`],
      ["GET", `/api/projects/${id}/variables`],
      ["PUT", `/api/projects/${id}/variables`],
      ["PATCH", `/api/projects/${id}/variables`],
    ];
    for (const [method, url] of probes) {
      for (const token of [null, "wrong-token", `${TOKEN}x`]) {
        const response = await call(method, url, method === "GET" ? undefined : {}, token);
        expect(response.statusCode, `${method} ${url}`).toBe(401);
        expect(response.json()).toEqual({ error: "authentication required", statusCode: 401 });
      }
    }
  });

  it("leaves health checks and the webhook open", async () => {
    expect((await call("GET", "/healthz", undefined, null)).json()).toEqual({ status: "ok" });
    const ready = await call("GET", "/readyz", undefined, null);
    expect(ready.json()).toEqual({ status: "ready", checks: { postgres: "ok", redis: "ok" } });
    expect((await call("GET", "/", undefined, null)).body).toContain("Slipway");
    // Links Slipway hands out (GitHub's log_url, environment_url) open the dashboard.
    const page = await app.inject({ method: "GET", url: "/builds/123", headers: { accept: "text/html" } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("Slipway");
    expect((await call("GET", "/api/nope", undefined, null)).statusCode).toBe(404);
    // The dashboard's fallback never shadows the API: an unknown API route is a JSON 404 even for a browser.
    for (const url of ["/api/nope", "/api"]) {
      const miss = await app.inject({ method: "GET", url, headers: { accept: "text/html" } });
      expect(miss.statusCode, url).toBe(404);
      expect(miss.json().statusCode, url).toBe(404);
    }
  });

  it("creates a project and a service, and refuses duplicates and bad input with a reason", async () => {
    const project = await call("POST", "/api/projects", { name: "shop" });
    expect(project.statusCode).toBe(201);
    const projectId = project.json().id as string;
    expect((await call("POST", "/api/projects", { name: "shop" })).json()).toEqual({
      error: "a project named shop already exists",
      statusCode: 409,
    });
    const bad = await call("POST", "/api/projects", { name: "Shop With Spaces" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/name/);

    const base = { name: "web", gitUrl: "https://example.invalid/a/b.git", branch: "main", containerPort: 8080 };
    const badServices = [
      { ...base, gitUrl: "https://user:secret@example.invalid/a/b.git" },
      { ...base, gitUrl: "file:///etc" },
      { ...base, containerPort: 70000 },
      { ...base, rootDir: "../outside" },
      { ...base, branch: "has space" },
      { ...base, unknown: true },
      { ...base, gitUrl: "https://example.invalid/a/b.git?access_token=secret" },
      { ...base, branch: "main\u0000" },
      { ...base, githubRepoId: 1e20 },
      { name: "web", containerPort: 8080 },
    ];
    for (const body of badServices) {
      const response = await call("POST", `/api/projects/${projectId}/services`, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().error).not.toContain("secret");
    }
    const service = await call("POST", `/api/projects/${projectId}/services`, base);
    expect(service.statusCode).toBe(201);
    expect(service.json()).toMatchObject({ ...base, projectId, rootDir: "", replicas: 1, githubRepoId: null });
    expect((await call("POST", `/api/projects/${projectId}/services`, base)).statusCode).toBe(409);
    expect((await call("GET", `/api/services/${service.json().id}`)).json()).toMatchObject(base);

    const missing = await call("POST", `/api/projects/00000000-0000-4000-8000-000000000000/services`, base);
    expect(missing.json()).toEqual({
      error: "project 00000000-0000-4000-8000-000000000000 not found",
      statusCode: 404,
    });
    expect((await call("GET", "/api/builds/not-a-uuid")).statusCode).toBe(400);
    expect((await call("GET", "/api/builds/urn:uuid:00000000-0000-4000-8000-000000000000")).statusCode).toBe(400);
  });

  it("changes which agents may build and deploy a service; bad changes are refused and change nothing", async () => {
    const projectId = (await call("POST", "/api/projects", { name: "labelled" })).json().id as string;
    const created = await call("POST", `/api/projects/${projectId}/services`, {
      name: "trainer",
      gitUrl: "https://example.invalid/a/trainer.git",
      branch: "main",
      containerPort: 8080,
      buildAgentLabels: { gpu: "yes" },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ buildAgentLabels: { gpu: "yes" }, deployAgentLabels: {} });
    const url = `/api/services/${created.json().id}`;

    const changed = await call("PATCH", url, { deployAgentLabels: { region: "eu" }, replicas: 3 });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({
      buildAgentLabels: { gpu: "yes" },
      deployAgentLabels: { region: "eu" },
      replicas: 3,
    });

    const refused = [
      {},
      { buildAgentLabels: { "Not A Key": "x" } },
      { buildAgentLabels: { gpu: "x".repeat(256) } },
      { deployAgentLabels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"])) },
      { replicas: 0 },
      { gitUrl: "https://example.invalid/a/other.git" },
    ];
    for (const body of refused) {
      const response = await call("PATCH", url, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
    }
    expect((await call("GET", url)).json()).toMatchObject(changed.json());
    const missing = await call("PATCH", "/api/services/00000000-0000-4000-8000-000000000000", { replicas: 2 });
    expect(missing.statusCode).toBe(404);
    const audited = await database.db
      .selectFrom("audit_log")
      .select(["action", "details"])
      .where("target", "=", `service:${created.json().id}`)
      .orderBy("id")
      .execute();
    expect(audited.map((a) => a.action)).toEqual(["service.create", "service.update"]);

    // A build no agent could take says so instead of waiting in silence.
    const [build] = await queueBuilds(database.db, created.json().id);
    const waitingFor = async () => (await call("GET", `/api/builds/${build?.id}`)).json().waitingFor;
    expect(await waitingFor()).toBe("no enrolled, undrained agent that builds carries gpu=yes");
    await seedAgents(database.db, 1, { labels: { gpu: "no" } });
    expect(await waitingFor()).toBe("no enrolled, undrained agent that builds carries gpu=yes");
    await seedAgents(database.db, 1, { labels: { gpu: "yes" }, capabilities: ["deploy"] });
    expect(await waitingFor()).toBe("no enrolled, undrained agent that builds carries gpu=yes");
    await seedAgents(database.db, 1, { labels: { gpu: "yes", arch: "arm64" } });
    expect(await waitingFor()).toBeNull();
  });

  it("triggers a build of the branch head, lists it, and shows its history", async () => {
    const repo = await createRepo(gitRoot, "manual");
    const sha = await repo.commit({ "README.md": "hello\n" }, "Initial");
    const projectId = (await call("POST", "/api/projects", { name: "manual" })).json().id as string;
    const serviceId = (
      await call("POST", `/api/projects/${projectId}/services`, {
        name: "web",
        gitUrl: `${git.url}${repo.path}`,
        branch: "main",
        containerPort: 8080,
      })
    ).json().id as string;

    const triggered = await call("POST", `/api/services/${serviceId}/builds`);
    expect(triggered.statusCode).toBe(202);
    expect(triggered.json()).toMatchObject({ serviceId, commitSha: sha, status: "pending", trigger: "manual" });

    const listed = await call("GET", `/api/builds?serviceId=${serviceId}`);
    expect(listed.json().map((b: { id: string }) => b.id)).toEqual([triggered.json().id]);
    const detail = await call("GET", `/api/builds/${triggered.json().id}`);
    expect(detail.json().history).toMatchObject([
      { from: null, to: "pending", actor: expect.stringMatching(/^user:/) },
    ]);

    const audit = await database.db.selectFrom("audit_log").select(["action", "target"]).execute();
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(["project.create", "service.create", "build.trigger"]),
    );

    const wrongBranch = await call("POST", `/api/projects/${projectId}/services`, {
      name: "other",
      gitUrl: `${git.url}${repo.path}`,
      branch: "nope",
      containerPort: 8080,
    });
    const failed = await call("POST", `/api/services/${wrongBranch.json().id}/builds`);
    expect(failed.json()).toEqual({ error: "branch nope does not exist in the service's repository", statusCode: 422 });
  });

  it("creates an agent with a one-time join token that is never listed", async () => {
    const created = await call("POST", "/api/agents", { name: "builder-1", capabilities: ["build", "deploy"] });
    expect(created.statusCode).toBe(201);
    expect(created.json().joinToken).toMatch(/^sjt_/);
    const listed = await call("GET", "/api/agents");
    expect(JSON.stringify(listed.json())).not.toContain(created.json().joinToken);
    expect((await call("POST", "/api/agents", { name: "x", capabilities: ["fly"] })).statusCode).toBe(400);
  });
});
