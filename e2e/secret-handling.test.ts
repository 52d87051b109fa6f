// Secrets end to end, on the real processes: a secret set through the API never comes back in any
// answer, and never reaches a line the control plane prints (even at LOG_LEVEL=trace) or the agent
// prints; a deployed replica gets it in its environment through the container API (Config.Env),
// never in its command line.
import { execFile } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../test-support/api.js";
import { removeContainersWithLabel } from "../test-support/containers.js";
import { createTestDatabase, type TestDatabase } from "../test-support/database.js";
import { startGitServer, type GitServer } from "../test-support/git-server.js";
import { createRepo, type TestRepo } from "../test-support/git-repo.js";
import {
  startAgentProcess,
  startControlPlaneProcess,
  type ChildHandle,
  type ControlPlaneProcess,
} from "../test-support/processes.js";
import { BASE_IMAGE, REGISTRY_HOST } from "../test-support/registry.js";
import { pushPayload, signedDelivery } from "../test-support/webhooks.js";

const run = promisify(execFile);
const WEBHOOK_SECRET = `whsec-${randomBytes(16).toString("hex")}`;
const TOKEN = randomBytes(32).toString("hex");
/** Recognisable random values: any occurrence anywhere is a leak. */
const SERVICE_SECRET = `svc-secret-${randomBytes(16).toString("hex")}`;
const PROJECT_SECRET = `prj-secret-${randomBytes(16).toString("hex")}`;
const ROTATED_SECRET = `rot-secret-${randomBytes(16).toString("hex")}`;
const SECRETS = [SERVICE_SECRET, PROJECT_SECRET, ROTATED_SECRET];

const containerfile = [
  `FROM ${BASE_IMAGE}`,
  "COPY www /www",
  "EXPOSE 8080",
  'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
  "",
].join("\n");

interface Deployment {
  id: string;
  buildId: string;
  status: string;
  reason: string | null;
  replicas: { status: string; containerId: string | null }[];
}

describe("secrets never leak", () => {
  let database: TestDatabase;
  let gitRoot: string;
  let stateDir: string;
  let git: GitServer;
  let repo: TestRepo;
  let controlPlane: ControlPlaneProcess;
  let agent: ChildHandle;
  let projectId: string;
  let serviceId: string;
  const repositoryId = randomInt(1_000_000, 2_000_000_000);
  /** Every answer body of the API in this file. */
  const answers: string[] = [];

  async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${controlPlane.httpUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    answers.push(text);
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }
  async function ok<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await api<T>(method, path, body);
    if (response.status < 200 || response.status >= 300)
      throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    gitRoot = await mkdtemp(join(tmpdir(), "slipway-git-"));
    stateDir = await mkdtemp(join(tmpdir(), "slipway-agent-"));
    git = await startGitServer(gitRoot);
    repo = await createRepo(gitRoot, `secrets-${randomBytes(4).toString("hex")}`);
    controlPlane = await startControlPlaneProcess({
      DATABASE_URL: database.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      SLIPWAY_BOOTSTRAP_TOKEN: TOKEN,
      REGISTRY_HOST,
      LOG_LEVEL: "trace",
    });
    const enrolment = await ok<{ joinToken: string }>("POST", "/api/agents", {
      name: "local",
      capabilities: ["build", "deploy"],
    });
    agent = await startAgentProcess({
      SLIPWAY_SERVER: controlPlane.grpcAddress,
      SLIPWAY_JOIN_TOKEN: enrolment.joinToken,
      SLIPWAY_STATE_DIR: stateDir,
      KILL_GRACE_SECONDS: "2",
      INVENTORY_SECONDS: "1",
    });
    projectId = (await ok<{ id: string }>("POST", "/api/projects", { name: "secrets" })).id;
    serviceId = (
      await ok<{ id: string }>("POST", `/api/projects/${projectId}/services`, {
        name: "vault",
        gitUrl: `${git.url}${repo.path}`,
        githubRepoId: repositoryId,
        branch: "main",
        containerPort: 8080,
        drainSeconds: 0,
      })
    ).id;
  });

  afterAll(async () => {
    await agent?.stop();
    await controlPlane?.stop();
    if (projectId) await removeContainersWithLabel(`slipway.project=${projectId}`);
    await git?.close();
    await database?.drop();
    await rm(gitRoot, { recursive: true, force: true });
    await rm(stateDir, { recursive: true, force: true });
  });

  it("sets secrets through the API, which never answers with them", async () => {
    const put = await ok<{ variables: { name: string; value: string | null }[] }>(
      "PUT",
      `/api/services/${serviceId}/variables`,
      {
        variables: [
          { name: "SERVICE_TOKEN", value: SERVICE_SECRET, secret: true },
          { name: "GREETING", value: "hello" },
        ],
      },
    );
    expect(put.variables).toEqual([
      expect.objectContaining({ name: "GREETING", value: "hello" }),
      expect.objectContaining({ name: "SERVICE_TOKEN", value: null, secret: true }),
    ]);
    await ok("PATCH", `/api/projects/${projectId}/variables`, {
      set: [{ name: "SHARED_TOKEN", value: PROJECT_SECRET, secret: true }],
    });
    // Refused input: the reason names the variable, never the value.
    const refused = await api<{ error: string }>("PATCH", `/api/services/${serviceId}/variables`, {
      set: [{ name: "SLIPWAY_TOKEN", value: SERVICE_SECRET, secret: true }],
    });
    expect(refused.status).toBe(400);
    const shown = await ok<{ variables: unknown[]; inherited: unknown[] }>(
      "GET",
      `/api/services/${serviceId}/variables`,
    );
    expect(shown.inherited).toEqual([expect.objectContaining({ name: "SHARED_TOKEN", value: null, secret: true })]);
    await ok("GET", `/api/projects/${projectId}/variables`);
    await ok("GET", `/api/services/${serviceId}`);
  });

  it("starts the replica with them in its environment, through the container API only", async () => {
    const sha = await repo.commit({ Containerfile: containerfile, "www/index.html": "nothing to see here\n" }, "Serve");
    const delivery = await signedDelivery(WEBHOOK_SECRET, "push", pushPayload({ repositoryId, branch: "main", sha }));
    const pushed = await fetch(`${controlPlane.httpUrl}/api/webhooks/github`, {
      method: "POST",
      headers: delivery.headers,
      body: delivery.body,
    });
    expect(pushed.status).toBe(202);
    const { buildIds } = (await pushed.json()) as { buildIds: string[] };
    const buildId = buildIds[0] as string;
    const deployment = await eventually(
      async () =>
        (await ok<Deployment[]>("GET", `/api/services/${serviceId}/deployments`)).find((d) => d.buildId === buildId),
      (d) => d !== undefined && ["succeeded", "failed"].includes(d.status),
      { timeoutMs: 240_000, what: `deployment of build ${buildId}` },
    );
    expect(deployment?.status, deployment?.reason ?? "").toBe("succeeded");
    const containerId = deployment?.replicas[0]?.containerId as string;
    expect(containerId).toBeTruthy();

    const { stdout } = await run("podman", ["inspect", containerId]);
    const [inspected] = JSON.parse(stdout) as {
      Path: string;
      Args: string[];
      Config: { Env: string[]; Cmd: string[] | null; Entrypoint: string[] | string | null };
    }[];
    expect(inspected?.Config.Env).toEqual(
      expect.arrayContaining([
        `SERVICE_TOKEN=${SERVICE_SECRET}`,
        `SHARED_TOKEN=${PROJECT_SECRET}`,
        "GREETING=hello",
        "PORT=8080",
      ]),
    );
    const commandLine = JSON.stringify([
      inspected?.Path,
      inspected?.Args,
      inspected?.Config.Cmd,
      inspected?.Config.Entrypoint,
    ]);
    for (const secret of SECRETS) expect(commandLine).not.toContain(secret);
    // Nor is it in the image: variables are never build input.
    const { stdout: history } = await run("podman", [
      "image",
      "inspect",
      (inspected as unknown as { Image: string }).Image,
    ]);
    for (const secret of SECRETS) expect(history).not.toContain(secret);
    // The build log says nothing of them either.
    await ok("GET", `/api/builds/${buildId}/logs`);
    await ok("GET", `/api/deployments/${deployment?.id}`);

    // A change now needs a redeploy to reach the running replica.
    const changed = await ok<{ redeployNeeded: boolean; redeployServices: string[] }>(
      "PATCH",
      `/api/services/${serviceId}/variables`,
      { set: [{ name: "SERVICE_TOKEN", value: ROTATED_SECRET }] },
    );
    expect(changed).toMatchObject({ redeployNeeded: true, redeployServices: [serviceId] });
  });

  it("leaves no secret in any answer, nor in any line the control plane or the agent printed", async () => {
    expect(answers.length).toBeGreaterThan(8);
    // Trace level was on: the control plane did log the requests that carried them.
    expect(controlPlane.lines.some((line) => line.includes("/variables"))).toBe(true);
    for (const secret of SECRETS) {
      for (const body of answers) expect(body).not.toContain(secret);
      for (const line of controlPlane.lines) expect(line).not.toContain(secret);
      for (const line of agent.lines) expect(line).not.toContain(secret);
    }
  });
});
