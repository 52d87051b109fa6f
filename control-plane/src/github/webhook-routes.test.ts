// POST /api/webhooks/github through the real app and a real database.
import { randomBytes, randomInt, randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/database.js";
import { pushPayload, signedDelivery, webhookExamples } from "../../../test-support/webhooks.js";
import { buildTestApp, type TestApp } from "../../../test-support/app.js";
import { seedService } from "../../../test-support/fixtures.js";

const SECRET = `whsec-${randomBytes(16).toString("hex")}`;
const TOKEN = randomBytes(32).toString("hex");
const sha = () => randomBytes(20).toString("hex");

describe("GitHub push webhooks", () => {
  let database: TestDatabase;
  let testApp: TestApp;
  let app: FastifyInstance;
  const repositoryId = randomInt(1_000_000, 2_000_000_000);
  let serviceId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    testApp = await buildTestApp(database.db, { GITHUB_WEBHOOK_SECRET: SECRET, SLIPWAY_BOOTSTRAP_TOKEN: TOKEN });
    app = testApp.app;
    ({ serviceId } = await seedService(database.db, { githubRepoId: repositoryId }));
  });

  afterAll(async () => {
    await testApp.close();
    await database.drop();
  });

  async function deliver(delivery: { body: string; headers: Record<string, string> }) {
    const response = await app.inject({
      method: "POST",
      url: "/api/webhooks/github",
      headers: delivery.headers,
      payload: delivery.body,
    });
    return { status: response.statusCode, body: response.json() as Record<string, unknown> };
  }

  const count = async (table: "builds" | "webhook_deliveries") =>
    Number(
      (
        await database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it("queues one build for a push to the linked branch, in the same transaction as the delivery", async () => {
    const commit = sha();
    const delivery = await signedDelivery(
      SECRET,
      "push",
      pushPayload({ repositoryId, branch: "main", sha: commit, message: "Add page" }),
    );
    const response = await deliver(delivery);
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ outcome: "queued", duplicate: false });
    const [buildId] = response.body.buildIds as string[];
    const build = await database.db
      .selectFrom("builds")
      .selectAll()
      .where("id", "=", buildId as string)
      .executeTakeFirstOrThrow();
    expect(build).toMatchObject({
      service_id: serviceId,
      commit_sha: commit,
      branch: "main",
      status: "pending",
      trigger: "push",
      commit_message: "Add page",
      delivery_id: delivery.headers["x-github-delivery"],
    });
    const history = await database.db
      .selectFrom("build_status_history")
      .selectAll()
      .where("build_id", "=", build.id)
      .execute();
    expect(history).toMatchObject([{ from_status: null, to_status: "pending", actor: `webhook:${build.delivery_id}` }]);
  });

  it("creates no second build when GitHub redelivers the same delivery id", async () => {
    const delivery = await signedDelivery(SECRET, "push", pushPayload({ repositoryId, branch: "main", sha: sha() }));
    const first = await deliver(delivery);
    const buildsAfterFirst = await count("builds");
    const second = await deliver(delivery);
    expect(first.status).toBe(202);
    expect(second).toMatchObject({ status: 200, body: { duplicate: true, buildIds: [] } });
    expect(await count("builds")).toBe(buildsAfterFirst);
  });

  it("handles concurrent redeliveries of one delivery id with exactly one build", async () => {
    const delivery = await signedDelivery(SECRET, "push", pushPayload({ repositoryId, branch: "main", sha: sha() }));
    const before = await count("builds");
    const responses = await Promise.all(Array.from({ length: 8 }, () => deliver(delivery)));
    expect(responses.filter((r) => r.status === 202)).toHaveLength(1);
    expect(await count("builds")).toBe(before + 1);
  });

  it.each([
    [
      "a wrong signature",
      (d: { headers: Record<string, string> }) => ({ ...d.headers, "x-hub-signature-256": `sha256=${"0".repeat(64)}` }),
    ],
    [
      "no signature",
      (d: { headers: Record<string, string> }) => ({
        ...d.headers,
        "x-hub-signature-256": undefined as unknown as string,
      }),
    ],
    ["a signature over other bytes", (d: { headers: Record<string, string> }) => ({ ...d.headers })],
  ])("answers 401 to %s and stores nothing but the rejection counter", async (name, headers) => {
    const delivery = await signedDelivery(SECRET, "push", pushPayload({ repositoryId, branch: "main", sha: sha() }));
    const body = name === "a signature over other bytes" ? delivery.body.replace("main", "mainx") : delivery.body;
    const [builds, deliveries] = [await count("builds"), await count("webhook_deliveries")];
    const rejectionsBefore = await database.db.selectFrom("webhook_rejections").select(["reason", "count"]).execute();
    const response = await deliver({
      body,
      headers: JSON.parse(JSON.stringify(headers(delivery))) as Record<string, string>,
    });
    expect(response.status).toBe(401);
    expect([await count("builds"), await count("webhook_deliveries")]).toEqual([builds, deliveries]);
    const rejectionsAfter = await database.db.selectFrom("webhook_rejections").select(["reason", "count"]).execute();
    const total = (rows: { count: string }[]) => rows.reduce((sum, r) => sum + Number(r.count), 0);
    expect(total(rejectionsAfter)).toBe(total(rejectionsBefore) + 1);
  });

  it("rejects malformed requests with 400 and a reason, changing nothing", async () => {
    const before = [await count("builds"), await count("webhook_deliveries")];
    const good = await signedDelivery(SECRET, "push", pushPayload({ repositoryId, branch: "main", sha: sha() }));
    const withoutEvent = { ...good.headers };
    delete (withoutEvent as Record<string, string | undefined>)["x-github-event"];
    const withoutDelivery = { ...good.headers };
    delete (withoutDelivery as Record<string, string | undefined>)["x-github-delivery"];
    const notJson = "{ this is not json";
    const notJsonDelivery = await signedDelivery(SECRET, "push", {});
    const notAPush = await signedDelivery(SECRET, "push", { ref: "refs/heads/main", repository: { id: "nope" } });

    expect(await deliver({ body: good.body, headers: withoutEvent })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining("X-GitHub-Event") },
    });
    expect(await deliver({ body: good.body, headers: withoutDelivery })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining("X-GitHub-Delivery") },
    });
    const { sign } = await import("@octokit/webhooks-methods");
    expect(
      await deliver({
        body: notJson,
        headers: { ...notJsonDelivery.headers, "x-hub-signature-256": await sign(SECRET, notJson) },
      }),
    ).toMatchObject({ status: 400, body: { error: "body is not valid JSON" } });
    expect(await deliver(notAPush)).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^push payload: /) },
    });
    expect([await count("builds"), await count("webhook_deliveries")]).toEqual(before);
  });

  it("records why a push built nothing", async () => {
    const cases = [
      {
        payload: pushPayload({ repositoryId, branch: "develop", sha: sha() }),
        reason: /no linked service builds this push of branch develop: web \(builds branch main\)/,
      },
      {
        payload: pushPayload({ repositoryId: repositoryId + 1, branch: "main", sha: sha() }),
        reason: /no service is linked/,
      },
      {
        payload: pushPayload({ repositoryId, branch: "main", sha: sha(), message: "Fix typo [skip ci]" }),
        reason: /skip CI/,
      },
      {
        payload: { ...pushPayload({ repositoryId, branch: "main", sha: "0".repeat(40) }), deleted: true },
        reason: /was deleted/,
      },
      {
        payload: { ...pushPayload({ repositoryId, branch: "main", sha: sha() }), ref: "refs/tags/v1.0.0" },
        reason: /tag v1\.0\.0: web \(tag pushes are not built\)/,
      },
    ];
    const builds = await count("builds");
    for (const { payload, reason } of cases) {
      const delivery = await signedDelivery(SECRET, "push", payload);
      const response = await deliver(delivery);
      expect(response).toMatchObject({ status: 202, body: { outcome: "ignored", buildIds: [] } });
      const row = await database.db
        .selectFrom("webhook_deliveries")
        .selectAll()
        .where("delivery_id", "=", delivery.headers["x-github-delivery"] as string)
        .executeTakeFirstOrThrow();
      expect(row.outcome).toBe("ignored");
      expect(row.reason).toMatch(reason);
    }
    expect(await count("builds")).toBe(builds);
  });

  it("handles every push, installation, installation_repositories and ping example GitHub documents", async () => {
    // Over a real socket, as GitHub sends them.
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    for (const event of ["push", "installation", "installation_repositories", "ping"]) {
      for (const example of webhookExamples(event)) {
        const delivery = await signedDelivery(SECRET, event, example, randomUUID());
        const response = await fetch(`${url}/api/webhooks/github`, {
          method: "POST",
          headers: delivery.headers,
          body: delivery.body,
        });
        expect([200, 202], `${event} ${String(example.action ?? "")}`).toContain(response.status);
      }
    }
  });

  it("records and ignores events it does not handle", async () => {
    const delivery = await signedDelivery(SECRET, "star", { action: "created", repository: { id: repositoryId } });
    expect(await deliver(delivery)).toMatchObject({
      status: 202,
      body: { outcome: "ignored", reason: "event star is not handled" },
    });
  });

  it("answers 413 to a body over 25 MB and stores nothing", async () => {
    const before = await count("webhook_deliveries");
    const body = JSON.stringify({ padding: "x".repeat(25 * 1024 * 1024) });
    const { sign } = await import("@octokit/webhooks-methods");
    const response = await deliver({
      body,
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": randomUUID(),
        "x-hub-signature-256": await sign(SECRET, body),
      },
    });
    expect(response.status).toBe(413);
    expect(await count("webhook_deliveries")).toBe(before);
  });

  it("keeps installations and their repositories true, and stops building a removed repository", async () => {
    const installationId = randomInt(1_000_000, 2_000_000_000);
    const installation = { id: installationId, account: { login: "acme", type: "Organization" }, app_id: 1 };
    const repo = { id: repositoryId, name: "web", full_name: "acme/web", private: true };
    const created = await deliver(
      await signedDelivery(SECRET, "installation", { action: "created", installation, repositories: [repo] }),
    );
    expect(created).toMatchObject({ status: 202, body: { outcome: "applied" } });
    const row = await database.db
      .selectFrom("github_installations")
      .selectAll()
      .where("id", "=", String(installationId))
      .executeTakeFirstOrThrow();
    // Nobody has proved they own it yet: it belongs to no organisation, and nobody may link its
    // repository by URL (its pushes, tokens and deployments would flow to them).
    expect(row.org_id).toBeNull();
    const claim = await app.inject({
      method: "POST",
      url: `/api/projects/${(await database.db.selectFrom("projects").select("id").executeTakeFirstOrThrow()).id}/services`,
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: {
        name: "thief",
        gitUrl: "https://evil.example/x.git",
        githubRepoId: repositoryId,
        branch: "main",
        containerPort: 80,
      },
    });
    expect(claim.statusCode).toBe(409);

    const removal = await signedDelivery(SECRET, "installation_repositories", {
      action: "removed",
      installation,
      repository_selection: "selected",
      repositories_added: [],
      repositories_removed: [repo],
    });
    expect(await deliver(removal)).toMatchObject({ status: 202, body: { outcome: "applied" } });
    expect(await deliver(removal)).toMatchObject({ status: 200, body: { duplicate: true } });

    const push = await deliver(
      await signedDelivery(SECRET, "push", pushPayload({ repositoryId, branch: "main", sha: sha() })),
    );
    expect(push).toMatchObject({
      status: 202,
      body: { outcome: "ignored", reason: "repository acme/web was removed from the GitHub App installation" },
    });
    const service = await app.inject({
      method: "GET",
      url: `/api/services/${serviceId}`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(service.json().repository).toEqual({
      fullName: "acme/web",
      installationId,
      problem: "repository acme/web was removed from the GitHub App installation",
    });
    const trigger = await app.inject({
      method: "POST",
      url: `/api/services/${serviceId}/builds`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(trigger.statusCode).toBe(409);

    // Added back, it builds again.
    await deliver(
      await signedDelivery(SECRET, "installation_repositories", {
        action: "added",
        installation,
        repository_selection: "selected",
        repositories_added: [repo],
        repositories_removed: [],
      }),
    );
    const again = await deliver(
      await signedDelivery(SECRET, "push", pushPayload({ repositoryId, branch: "main", sha: sha() })),
    );
    expect(again).toMatchObject({ status: 202, body: { outcome: "queued" } });
  });

  it("builds a monorepo service only when the push touches its directories", async () => {
    const monorepoId = randomInt(1_000_000, 2_000_000_000);
    const { serviceId: apiId } = await seedService(database.db, {
      name: "api",
      githubRepoId: monorepoId,
      rootDir: "apps/api",
      watchPaths: ["packages/shared"],
    });
    const pushTouching = async (files: string[]) => {
      const payload = pushPayload({ repositoryId: monorepoId, branch: "main", sha: sha() });
      payload.commits = [{ id: payload.after, message: "x", added: files, removed: [], modified: [] }];
      return deliver(await signedDelivery(SECRET, "push", payload));
    };
    expect((await pushTouching(["apps/web/page.tsx"])).body).toMatchObject({
      outcome: "ignored",
      reason: expect.stringContaining("api (no change under apps/api, packages/shared)"),
    });
    const built = await pushTouching(["packages/shared/util.ts"]);
    expect(built.body.outcome).toBe("queued");
    const build = await database.db
      .selectFrom("builds")
      .select("service_id")
      .where("id", "=", (built.body.buildIds as string[])[0] as string)
      .executeTakeFirstOrThrow();
    expect(build.service_id).toBe(apiId);
  });
});
