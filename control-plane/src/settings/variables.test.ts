// Environment variables and secrets through the real API on a real database: secrets never come back,
// a service's variables override its project's, bad input changes nothing, other organisations'
// scopes are invisible, audit entries name variables without values, and a change says which
// running services need a redeploy. Replicas' specs carry the effective environment.
import { randomBytes } from "node:crypto";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/database.js";
import { buildTestApp, type TestApp } from "../../../test-support/app.js";
import { seedAgents, seedService, TEST_ACTOR } from "../../../test-support/fixtures.js";
import { insertBuild } from "../builds/build-work.js";
import { SecretBox, secretBoxOf } from "../crypto/secret-box.js";
import { DEFAULT_ORG_ID } from "../db/schema.js";
import { createDeployment } from "../deployments/deployment-repository.js";
import { deployWork } from "../deployments/deploy-work.js";
import { createProject, createService } from "../projects/project-repository.js";
import { TEST_ADDRESSES } from "../../../test-support/fixtures.js";
import { createMember, sessionHeaders } from "../../../test-support/people.js";
import { WorkQueue, type ClaimingAgent } from "../work/work-queue.js";
import { resolveServiceEnvironment } from "./environment.js";

const TOKEN = randomBytes(32).toString("hex");
const DIGEST = `sha256:${"ab".repeat(32)}`;

interface VariableView {
  name: string;
  value: string | null;
  secret: boolean;
  scope: "service" | "project";
  updatedAt: string;
}
interface Answer {
  variables: VariableView[];
  changed: string[];
  redeployNeeded: boolean;
  redeployServices: string[];
}

describe("variables and secrets", () => {
  let database: TestDatabase;
  let testApp: TestApp;
  let app: FastifyInstance;
  let box: SecretBox;
  let queue: WorkQueue;
  let deployer: ClaimingAgent;
  /** Every secret value any test set: none may appear in any answer. */
  const secrets: string[] = [];
  const answers: string[] = [];
  const secretValue = () => {
    const value = `s3cr3t-${randomBytes(12).toString("hex")}`;
    secrets.push(value);
    return value;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    testApp = await buildTestApp(database.db, { SLIPWAY_BOOTSTRAP_TOKEN: TOKEN });
    app = testApp.app;
    box = secretBoxOf(testApp.config);
    queue = new WorkQueue(database.db, [deployWork({ secretBox: box })], { leaseSeconds: 60 });
    const [id] = await seedAgents(database.db, 1, { capabilities: ["deploy"] });
    deployer = { id: id!, orgId: DEFAULT_ORG_ID, capabilities: ["deploy"], labels: {}, drained: false };
  });

  afterAll(async () => {
    // Masking holds for every answer of every test in this file.
    expect(answers.length).toBeGreaterThan(20);
    for (const secret of secrets) for (const body of answers) expect(body).not.toContain(secret);
    await testApp.close();
    await database.drop();
  });

  const call = async (method: "GET" | "PUT" | "PATCH", url: string, payload?: unknown) => {
    const response: LightMyRequestResponse = await app.inject({
      method,
      url,
      payload: payload as never,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    answers.push(response.body);
    return response;
  };
  const ok = async <T = Answer>(method: "GET" | "PUT" | "PATCH", url: string, payload?: unknown): Promise<T> => {
    const response = await call(method, url, payload);
    expect(response.statusCode, response.body).toBe(200);
    return response.json<T>();
  };
  const list = (url: string) => ok<{ variables: VariableView[]; inherited?: VariableView[] }>("GET", url);
  const environmentOf = (serviceId: string) => resolveServiceEnvironment(database.db, box, serviceId);
  const auditCount = async () =>
    Number(
      (
        await database.db
          .selectFrom("audit_log")
          .select(({ fn }) => fn.countAll().as("n"))
          .where("action", "=", "variables.update")
          .executeTakeFirstOrThrow()
      ).n,
    );

  /** Deploys the service through the work core and returns the replica's spec (it runs afterwards). */
  async function deployAndRun(serviceId: string) {
    await database.db.transaction().execute(async (trx) => {
      const build = await insertBuild(trx, {
        serviceId,
        commitSha: randomBytes(20).toString("hex"),
        branch: "main",
        trigger: "manual",
        actor: "user:test",
      });
      await createDeployment(trx, {
        serviceId,
        buildId: build.id,
        imageRef: `registry.test/p/s@${DIGEST}`,
        replicas: 1,
        createdBy: "user:test",
        trigger: "manual",
      });
    });
    const held = await queue.claim(deployer, ["deploy"], null);
    expect(held).toBeDefined();
    await queue.finish(
      "deploy",
      { id: held!.row.id, leaseToken: held!.row.lease_token!, agentId: deployer.id },
      { outcome: "succeeded", result: { containerId: "c1", host: "127.0.0.1", port: 40000 }, error: "" },
    );
    return held!.spec as { serviceId: string; env: Record<string, string> };
  }

  it("never shows a secret's value, in any answer, and keeps it when the masked list is sent back", async () => {
    const { serviceId } = await seedService(database.db);
    const token = secretValue();
    const put = await ok("PUT", `/api/services/${serviceId}/variables`, {
      variables: [
        { name: "API_TOKEN", value: token, secret: true },
        { name: "LOG_FORMAT", value: "json" },
      ],
    });
    expect(put).toMatchObject({ changed: ["API_TOKEN", "LOG_FORMAT"], redeployNeeded: false, redeployServices: [] });
    expect(put.variables.map(({ updatedAt: _, ...v }) => v)).toEqual([
      { name: "API_TOKEN", value: null, secret: true, scope: "service" },
      { name: "LOG_FORMAT", value: "json", secret: false, scope: "service" },
    ]);
    expect(new Date(put.variables[0]!.updatedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);

    // The list as the dashboard shows it, sent back unchanged: nothing changes, the secret keeps its value.
    const shown = await list(`/api/services/${serviceId}/variables`);
    expect(shown.variables).toEqual(put.variables);
    const again = await ok("PUT", `/api/services/${serviceId}/variables`, {
      variables: shown.variables.map(({ name, value, secret }) =>
        secret ? { name, secret } : { name, value, secret },
      ),
    });
    expect(again).toMatchObject({ changed: [], redeployNeeded: false });
    expect(await environmentOf(serviceId)).toEqual({ API_TOKEN: token, LOG_FORMAT: "json" });

    // PATCH answers mask too; a secret's new value replaces the old.
    const rotated = secretValue();
    const patched = await ok("PATCH", `/api/services/${serviceId}/variables`, {
      set: [{ name: "API_TOKEN", value: rotated }],
    });
    expect(patched.changed).toEqual(["API_TOKEN"]);
    expect(patched.variables.find((v) => v.name === "API_TOKEN")).toMatchObject({ value: null, secret: true });
    expect(await environmentOf(serviceId)).toEqual({ API_TOKEN: rotated, LOG_FORMAT: "json" });

    // At rest too, no value is readable: every value is sealed, the plain ones as well.
    const stored = await database.db.selectFrom("variables").select("value_enc").execute();
    for (const { value_enc } of stored) {
      expect(value_enc.toString("latin1")).not.toContain(rotated);
      expect(value_enc.toString("latin1")).not.toContain("json");
    }
  });

  it("gives a service its project's variables, its own winning; PORT is always the container port", async () => {
    const { projectId, serviceId } = await seedService(database.db, { containerPort: 3000 });
    const dbPassword = secretValue();
    await ok("PUT", `/api/projects/${projectId}/variables`, {
      variables: [
        { name: "DATABASE_PASSWORD", value: dbPassword, secret: true },
        { name: "REGION", value: "eu" },
        { name: "MODE", value: "project" },
      ],
    });
    await ok("PUT", `/api/services/${serviceId}/variables`, { variables: [{ name: "MODE", value: "service" }] });

    expect(await environmentOf(serviceId)).toEqual({ DATABASE_PASSWORD: dbPassword, REGION: "eu", MODE: "service" });
    const shown = await list(`/api/services/${serviceId}/variables`);
    expect(shown.variables.map((v) => [v.name, v.value, v.scope])).toEqual([["MODE", "service", "service"]]);
    expect(shown.inherited?.map((v) => [v.name, v.value, v.scope])).toEqual([
      ["DATABASE_PASSWORD", null, "project"],
      ["REGION", "eu", "project"],
    ]);
    const project = await list(`/api/projects/${projectId}/variables`);
    expect(project.variables.map((v) => v.name)).toEqual(["DATABASE_PASSWORD", "MODE", "REGION"]);

    // The replica's spec carries the same environment, with PORT set by Slipway.
    const spec = await deployAndRun(serviceId);
    expect(spec.serviceId).toBe(serviceId);
    expect(spec.env).toEqual({ DATABASE_PASSWORD: dbPassword, REGION: "eu", MODE: "service", PORT: "3000" });
  });

  it("refuses bad input with a 400 and a reason, and changes nothing", async () => {
    const { projectId, serviceId } = await seedService(database.db);
    const kept = secretValue();
    await ok("PUT", `/api/services/${serviceId}/variables`, {
      variables: [
        { name: "KEPT", value: kept, secret: true },
        { name: "PLAIN", value: "v" },
      ],
    });
    const before = await list(`/api/services/${serviceId}/variables`);
    const audits = await auditCount();
    const many = (count: number, bytes = 1) =>
      Array.from({ length: count }, (_, i) => ({ name: `V${i}`, value: "x".repeat(bytes) }));
    const overLimit = secretValue() + "x".repeat(32 * 1024);

    const cases: [string, "PUT" | "PATCH", unknown, RegExp][] = [
      ["a name starting with a digit", "PATCH", { set: [{ name: "1ABC", value: "v" }] }, /variable name must be/],
      ["a name with a dash", "PUT", { variables: [{ name: "A-B", value: "v" }] }, /variable name must be/],
      ["a name of 129 characters", "PATCH", { set: [{ name: "A".repeat(129), value: "v" }] }, /variable name/],
      ["PORT", "PATCH", { set: [{ name: "PORT", value: "80" }] }, /PORT is reserved/],
      ["SLIPWAY_*", "PATCH", { set: [{ name: "SLIPWAY_TOKEN", value: "v" }] }, /SLIPWAY_TOKEN is reserved/],
      ["slipway_* in lower case", "PATCH", { set: [{ name: "slipway_x", value: "v" }] }, /is reserved/],
      [
        "a secret over 32 KiB",
        "PATCH",
        { set: [{ name: "BIG", value: overLimit, secret: true }] },
        /BIG is over 32 KiB/,
      ],
      ["a NUL byte", "PATCH", { set: [{ name: "NUL", value: "a\u0000b" }] }, /NUL byte/],
      ["201 variables", "PUT", { variables: many(201) }, /at most 200 variables/],
      ["199 more beside two", "PATCH", { set: many(199) }, /at most 200 variables/],
      ["over 256 KiB together", "PUT", { variables: many(9, 30 * 1024) }, /at most 256 KiB together/],
      [
        "a name twice",
        "PUT",
        {
          variables: [
            { name: "A", value: "1" },
            { name: "A", value: "2" },
          ],
        },
        /A is named twice/,
      ],
      ["a new variable without value", "PATCH", { set: [{ name: "NEW" }] }, /NEW needs a value/],
      ["a plain variable without value", "PATCH", { set: [{ name: "PLAIN" }] }, /PLAIN needs a value/],
      ["a secret unmasked without value", "PATCH", { set: [{ name: "KEPT", secret: false }] }, /KEPT needs its value/],
      [
        "set and removed at once",
        "PATCH",
        { set: [{ name: "X", value: "1" }], remove: ["X"] },
        /X is both set and removed/,
      ],
      ["removing a reserved name", "PATCH", { remove: ["PORT"] }, /PORT is reserved/],
      ["an unknown field", "PATCH", { set: [{ name: "X", value: "1", visible: true }] }, /must NOT have additional/],
      ["a value that is not text", "PUT", { variables: [{ name: "X", value: { a: 1 } }] }, /must be string/],
    ];
    for (const [what, method, body, reason] of cases) {
      const response = await call(method, `/api/services/${serviceId}/variables`, body);
      expect(response.statusCode, what).toBe(400);
      expect(response.json<{ error: string }>().error, what).toMatch(reason);
      expect(response.body, what).not.toContain(overLimit.slice(0, 30));
    }
    // The project's scope refuses the same way.
    const projectResponse = await call("PATCH", `/api/projects/${projectId}/variables`, {
      set: [
        { name: "OK", value: "1" },
        { name: "SLIPWAY_X", value: "1" },
      ],
    });
    expect(projectResponse.statusCode).toBe(400);
    expect((await list(`/api/projects/${projectId}/variables`)).variables).toEqual([]);

    expect(await list(`/api/services/${serviceId}/variables`)).toEqual(before);
    expect(await environmentOf(serviceId)).toEqual({ KEPT: kept, PLAIN: "v" });
    expect(await auditCount()).toBe(audits);

    // At the limits exactly, it is accepted.
    const fits = await call("PUT", `/api/services/${serviceId}/variables`, { variables: many(200) });
    expect(fits.statusCode).toBe(200);
    const full = await call("PUT", `/api/services/${serviceId}/variables`, {
      variables: [{ name: "BIG", value: "y".repeat(32 * 1024) }],
    });
    expect(full.statusCode).toBe(200);
  });

  it("answers 404 for another organisation's service or project, and changes nothing there", async () => {
    const otherOrg = await database.db
      .insertInto("organizations")
      .values({ name: `other-${randomBytes(3).toString("hex")}` })
      .returning("id")
      .executeTakeFirstOrThrow();
    const actor = { ...TEST_ACTOR, orgId: otherOrg.id };
    const project = await createProject(database.db, actor, "theirs");
    const service = await createService(database.db, actor, TEST_ADDRESSES, project.id, {
      name: "api",
      gitUrl: "https://example.invalid/them/api.git",
      branch: "main",
      containerPort: 8080,
    });
    const theirs = secretValue();
    await database.db.transaction().execute(async (trx) => {
      await trx
        .insertInto("variables")
        .values({
          project_id: project.id,
          service_id: service.id,
          name: "THEIRS",
          value_enc: box.seal(theirs),
          secret: false,
        })
        .execute();
    });
    for (const [method, url, body] of [
      ["GET", `/api/services/${service.id}/variables`, undefined],
      ["PUT", `/api/services/${service.id}/variables`, { variables: [] }],
      ["PATCH", `/api/services/${service.id}/variables`, { remove: ["THEIRS"] }],
      ["GET", `/api/projects/${project.id}/variables`, undefined],
      ["PUT", `/api/projects/${project.id}/variables`, { variables: [{ name: "X", value: "1" }] }],
      ["PATCH", `/api/projects/${project.id}/variables`, { set: [{ name: "X", value: "1" }] }],
    ] as const) {
      const response = await call(method, url, body);
      expect(response.statusCode, `${method} ${url}`).toBe(404);
    }
    expect(await environmentOf(service.id)).toEqual({ THEIRS: theirs });
  });

  it("lets viewers read variables but not change them (the API refuses before anything runs)", async () => {
    const { serviceId } = await seedService(database.db);
    await ok("PUT", `/api/services/${serviceId}/variables`, { variables: [{ name: "A", value: "1" }] });
    const headers = await sessionHeaders(
      database.db,
      await createMember(database.db, "viewer", { orgId: DEFAULT_ORG_ID }),
    );
    const read = await app.inject({ method: "GET", url: `/api/services/${serviceId}/variables`, headers });
    expect(read.statusCode).toBe(200);
    for (const [method, payload] of [
      ["PATCH", { remove: ["A"] }],
      ["PUT", { variables: [] }],
    ] as const) {
      const response = await app.inject({ method, url: `/api/services/${serviceId}/variables`, payload, headers });
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({ error: "this needs the developer role or above; you are viewer" });
    }
    expect(await environmentOf(serviceId)).toEqual({ A: "1" });
  });

  it("audits each change with the names only, never a value", async () => {
    const { projectId, serviceId } = await seedService(database.db);
    const value = secretValue();
    await ok("PUT", `/api/services/${serviceId}/variables`, {
      variables: [
        { name: "SIGNING_KEY", value, secret: true },
        { name: "FEATURE", value: "plain-value-xyz" },
      ],
    });
    await ok("PATCH", `/api/services/${serviceId}/variables`, { remove: ["FEATURE"] });
    await ok("PATCH", `/api/projects/${projectId}/variables`, { set: [{ name: "SHARED", value: "shared-value-xyz" }] });
    // Nothing changed: nothing audited.
    await ok("PATCH", `/api/services/${serviceId}/variables`, { remove: ["ABSENT"] });

    const entries = await database.db
      .selectFrom("audit_log")
      .select(["actor", "action", "target", "details"])
      .where("target", "in", [`service:${serviceId}`, `project:${projectId}`])
      .where("action", "=", "variables.update")
      .orderBy("id")
      .execute();
    expect(entries).toEqual([
      {
        actor: expect.stringMatching(/^user:/),
        action: "variables.update",
        target: `service:${serviceId}`,
        details: { set: ["FEATURE", "SIGNING_KEY"], removed: [], secrets: ["SIGNING_KEY"] },
      },
      {
        actor: expect.stringMatching(/^user:/),
        action: "variables.update",
        target: `service:${serviceId}`,
        details: { set: [], removed: ["FEATURE"], secrets: [] },
      },
      {
        actor: expect.stringMatching(/^user:/),
        action: "variables.update",
        target: `project:${projectId}`,
        details: { set: ["SHARED"], removed: [], secrets: [] },
      },
    ]);
    const text = JSON.stringify(entries);
    for (const v of [value, "plain-value-xyz", "shared-value-xyz"]) expect(text).not.toContain(v);
  });

  it("says which running services need a redeploy for a change to reach them", async () => {
    const { projectId, serviceId: running } = await seedService(database.db);
    const idle = await createService(database.db, TEST_ACTOR, TEST_ADDRESSES, projectId, {
      name: "worker",
      gitUrl: "https://example.invalid/acme/worker.git",
      branch: "main",
      containerPort: 8080,
    });
    await ok("PUT", `/api/services/${running}/variables`, { variables: [{ name: "OWN", value: "1" }] });
    const spec = await deployAndRun(running);
    expect(spec.env).toMatchObject({ OWN: "1" });

    // The running service's own change.
    expect(
      await ok("PATCH", `/api/services/${running}/variables`, { set: [{ name: "OWN", value: "2" }] }),
    ).toMatchObject({ changed: ["OWN"], redeployNeeded: true, redeployServices: [running] });
    // The same value again changes nothing.
    expect(
      await ok("PATCH", `/api/services/${running}/variables`, { set: [{ name: "OWN", value: "2" }] }),
    ).toMatchObject({ changed: [], redeployNeeded: false, redeployServices: [] });
    // A service with nothing running needs no redeploy: its next deploy brings the change.
    expect(
      await ok("PATCH", `/api/services/${idle.id}/variables`, { set: [{ name: "OWN", value: "3" }] }),
    ).toMatchObject({ changed: ["OWN"], redeployNeeded: false, redeployServices: [] });
    // The project's variables reach the running service, unless it overrides them.
    expect(
      await ok("PATCH", `/api/projects/${projectId}/variables`, { set: [{ name: "OWN", value: "p" }] }),
    ).toMatchObject({ changed: ["OWN"], redeployNeeded: false, redeployServices: [] });
    expect(
      await ok("PATCH", `/api/projects/${projectId}/variables`, { set: [{ name: "SHARED", value: "p" }] }),
    ).toMatchObject({ changed: ["SHARED"], redeployNeeded: true, redeployServices: [running] });
    // Removing both from the project: SHARED leaves the running service's environment.
    expect(await ok("PATCH", `/api/projects/${projectId}/variables`, { remove: ["SHARED", "OWN"] })).toMatchObject({
      changed: ["OWN", "SHARED"],
      redeployNeeded: true,
      redeployServices: [running],
    });
  });

  it("fails a replica whose secrets no longer open, saying why, instead of handing it out again", async () => {
    const { serviceId } = await seedService(database.db);
    await ok("PUT", `/api/services/${serviceId}/variables`, {
      variables: [{ name: "TOKEN", value: secretValue(), secret: true }],
    });
    // A control plane started with another key and without the old one as previous.
    const strangers = new WorkQueue(
      database.db,
      [deployWork({ secretBox: new SecretBox(randomBytes(32).toString("base64")) })],
      { leaseSeconds: 60 },
    );
    const deployment = await database.db.transaction().execute(async (trx) => {
      const build = await insertBuild(trx, {
        serviceId,
        commitSha: randomBytes(20).toString("hex"),
        branch: "main",
        trigger: "manual",
        actor: "user:test",
      });
      return createDeployment(trx, {
        serviceId,
        buildId: build.id,
        imageRef: `registry.test/p/s@${DIGEST}`,
        replicas: 1,
        createdBy: "user:test",
        trigger: "manual",
      });
    });
    expect(await strangers.claim(deployer, ["deploy"], "claim-1")).toBeUndefined();
    const item = await database.db
      .selectFrom("deploy_work_items")
      .select(["status", "status_reason"])
      .where("deployment_id", "=", deployment.id)
      .executeTakeFirstOrThrow();
    expect(item.status).toBe("failed");
    expect(item.status_reason).toMatch(
      /cannot open the service's variables and secrets: was SLIPWAY_SECRET_KEY changed/,
    );
    const ended = await database.db
      .selectFrom("deployments")
      .select(["status", "reason"])
      .where("id", "=", deployment.id)
      .executeTakeFirstOrThrow();
    expect(ended.status).toBe("failed");
    expect(ended.reason).toMatch(/SLIPWAY_SECRET_KEY/);
    // Nothing is left for an agent to take again.
    expect(await strangers.claim(deployer, ["deploy"], "claim-2")).toBeUndefined();

    // An agent that restarts holding a replica is told to drop it, and the replica fails the same way.
    const held = await (async () => {
      await database.db.transaction().execute(async (trx) => {
        const build = await insertBuild(trx, {
          serviceId,
          commitSha: randomBytes(20).toString("hex"),
          branch: "main",
          trigger: "manual",
          actor: "user:test",
        });
        await createDeployment(trx, {
          serviceId,
          buildId: build.id,
          imageRef: `registry.test/p/s@${DIGEST}`,
          replicas: 1,
          createdBy: "user:test",
          trigger: "manual",
        });
      });
      return (await queue.claim(deployer, ["deploy"], null))!;
    })();
    const [verdict] = await strangers.resume(
      deployer.id,
      [{ kind: "deploy", id: held.row.id, leaseToken: held.row.lease_token! }],
      "resume-1",
    );
    expect(verdict).toEqual({ verdict: "lost", reason: "the deploy cannot be run; it failed" });
    expect(
      await database.db
        .selectFrom("deploy_work_items")
        .select(["status", "status_reason"])
        .where("id", "=", held.row.id)
        .executeTakeFirstOrThrow(),
    ).toEqual({ status: "failed", status_reason: expect.stringMatching(/SLIPWAY_SECRET_KEY changed/) });
  });

  it("describes the routes in the OpenAPI document, secrets' masking and the PATCH body included", async () => {
    const docs = await ok<{ paths: Record<string, Record<string, { requestBody?: unknown; description?: string }>> }>(
      "GET",
      "/api/docs/json",
    );
    for (const path of ["/api/services/{serviceId}/variables", "/api/projects/{projectId}/variables"]) {
      expect(Object.keys(docs.paths[path] ?? {}).sort()).toEqual(["get", "patch", "put"]);
    }
    const text = JSON.stringify(docs.paths["/api/services/{serviceId}/variables"]);
    expect(text).toContain("null for a secret");
    expect(text).toContain("Omit it for an existing secret to keep its value");
    expect(text).toContain("Names to remove");
  });
});
