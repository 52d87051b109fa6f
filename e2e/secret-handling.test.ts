// Secrets end to end, on the real processes: a secret set through the API never comes back in any
// answer, and never reaches a line the control plane prints (even at LOG_LEVEL=trace) or the agent
// prints; a deployed replica gets it in its environment through the container API (Config.Env),
// never in its command line.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIngressStack, type IngressStack, type StackAgent } from "../test-support/ingress-stack.js";
import { BASE_IMAGE } from "../test-support/registry.js";

const run = promisify(execFile);
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

describe("secrets never leak", () => {
  let stack: IngressStack;
  let agent: StackAgent;
  let projectId: string;
  let serviceId: string;
  /** Every answer body of the API in this file. */
  const answers: string[] = [];

  async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${stack.controlPlane.httpUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${stack.token}`,
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
    stack = await startIngressStack({
      controlPlaneEnv: { LOG_LEVEL: "trace" },
      service: { name: "vault", drainSeconds: 0 },
    });
    agent = await stack.startAgent("local", ["build", "deploy"], { KILL_GRACE_SECONDS: "2", INVENTORY_SECONDS: "1" });
    ({ projectId, serviceId } = stack);
  });

  afterAll(async () => {
    await stack?.close();
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
    const buildId = await stack.push(
      { Containerfile: containerfile, "www/index.html": "nothing to see here\n" },
      "Serve",
    );
    const deployment = await stack.deploymentOf(buildId);
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
    expect(stack.controlPlane.lines.some((line) => line.includes("/variables"))).toBe(true);
    for (const secret of SECRETS) {
      for (const body of answers) expect(body).not.toContain(secret);
      for (const line of stack.controlPlane.lines) expect(line).not.toContain(secret);
      for (const line of agent.handle.lines) expect(line).not.toContain(secret);
    }
  });
});
