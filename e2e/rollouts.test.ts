// Zero-downtime rollouts, measured on real parts: PostgreSQL, podman, the local registry, a git
// server and a real Caddy configured by the control plane through its admin API. A client keeps
// requesting the service's stable URL during every rollout; not one request may fail, and every
// answer comes from the old or the new version.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../test-support/api.js";
import { getThroughIngress } from "../test-support/caddy.js";
import { containersWithLabel } from "../test-support/containers.js";
import {
  expectNoFailedRequest as expectNoFailure,
  startIngressStack,
  type Deployment,
  type IngressStack,
} from "../test-support/ingress-stack.js";
import { BASE_IMAGE } from "../test-support/registry.js";
import { trafficDuring } from "../test-support/traffic.js";

/** A static site whose page names its version; it prints a line when it starts. */
const site = (version: string) => ({
  Containerfile: [
    `FROM ${BASE_IMAGE}`,
    "COPY www /www",
    'CMD ["sh", "-c", "echo starting $(cat /www/index.html); exec httpd -f -p 8080 -h /www"]',
    "",
  ].join("\n"),
  "www/index.html": `${version}\n`,
});

describe("rollouts through the ingress", () => {
  let stack: IngressStack;
  let serviceId: string;
  let url: string;

  /** Pushes a version and waits until its deployment ended; returns that deployment. */
  async function release(version: string): Promise<Deployment> {
    return stack.deploymentOf(await stack.push(site(version), version));
  }
  const onlyContainersOf = (deployment: Deployment) => stack.onlyContainersOf(deployment);

  beforeAll(async () => {
    stack = await startIngressStack({});
    await stack.startAgent("local", ["build", "deploy"]);
    ({ serviceId, url } = stack);
  });

  afterAll(async () => {
    await stack?.close();
  });

  it("gives the service a stable address that answers once the first version is healthy", async () => {
    expect(url).toBe(`http://site-${stack.projectName}.localhost:${stack.caddy.port}`);
    // Routed, but nothing runs yet: a clear 503 rather than a connection error.
    await eventually(
      () => getThroughIngress(url).catch(() => ({ status: 0, body: "" })),
      (r) => r.status === 503,
      {
        timeoutMs: 30_000,
        what: "the service's route",
      },
    );
    const first = await release("v1");
    expect(first.status, first.reason ?? "").toBe("succeeded");
    // The ingress pass that routes it follows the deployment's success (woken by it).
    await eventually(
      () => getThroughIngress(url),
      (answer) => answer.status === 200,
      { timeoutMs: 10_000, what: "the first version behind the URL" },
    );
    expect(await getThroughIngress(url)).toEqual({ status: 200, body: "v1\n" });
    // An unknown host is not some other service.
    expect((await getThroughIngress(`http://nothing-here.localhost:${stack.caddy.port}/`)).status).toBe(404);
  });

  /** Runs `operation` under traffic until its deployment succeeded and the old replicas are gone. */
  async function underTraffic(versions: string[], operation: () => Promise<Deployment>, what: string) {
    let deployment: Deployment | undefined;
    const report = await trafficDuring(url, async () => {
      deployment = await operation();
      expect(deployment.status, deployment.reason ?? "").toBe("succeeded");
      await onlyContainersOf(deployment);
    });
    expectNoFailure(report, versions, what);
    return { deployment: deployment as Deployment, report };
  }
  const restart = async () =>
    stack.ended(
      (await stack.api.ok<{ deployment: Deployment }>("POST", `/api/services/${serviceId}/restart`)).deployment.id,
    );
  const rollback = async (buildId: string) =>
    stack.ended(
      (
        await stack.api.ok<{ deployment: Deployment }>("POST", `/api/services/${serviceId}/deployments`, {
          buildId,
          reason: "roll back",
        })
      ).deployment.id,
    );
  const buildOf: Record<string, string> = {};
  const releaseAndRemember = async (version: string) => {
    const deployment = await release(version);
    buildOf[version] = deployment.buildId;
    return deployment;
  };

  it("rolls a new version out to one replica without a failed request", async () => {
    buildOf.v1 = (await stack.api.ok<Deployment[]>("GET", `/api/services/${serviceId}/deployments`))[0]!.buildId;
    const { report } = await underTraffic(["v1", "v2"], () => releaseAndRemember("v2"), "new version, 1 replica");
    expect(report.bodies.get("v2\n")).toBeGreaterThan(0);
    expect((await stack.api.ok<{ url: string }>("GET", `/api/services/${serviceId}`)).url).toBe(url);
  });

  it("restarts one replica (same image) without a failed request", async () => {
    const { deployment, report } = await underTraffic(["v2"], restart, "restart, 1 replica");
    expect(deployment.buildId).toBe(buildOf.v2);
    expect(report.bodies.get("v2\n")).toBe(report.sent);
  });

  it("rolls back one replica to an earlier build without a failed request, and serves it", async () => {
    const { deployment } = await underTraffic(["v2", "v1"], () => rollback(buildOf.v1!), "rollback, 1 replica");
    expect(deployment).toMatchObject({ buildId: buildOf.v1, trigger: "rollback" });
    expect(await getThroughIngress(url)).toEqual({ status: 200, body: "v1\n" });
  });

  it("scales from one replica to three without a failed request", async () => {
    const { deployment, report } = await underTraffic(
      ["v1"],
      async () => {
        const service = await stack.api.ok<{ deploymentId?: string }>("PATCH", `/api/services/${serviceId}`, {
          replicas: 3,
        });
        return stack.ended(service.deploymentId as string);
      },
      "scale 1 → 3",
    );
    expect(deployment.replicas.map((r) => r.status)).toEqual(["running", "running", "running"]);
    expect(report.bodies.get("v1\n")).toBe(report.sent);
  });

  it("rolls a new version out to three replicas without a failed request", async () => {
    const { deployment } = await underTraffic(["v1", "v3"], () => releaseAndRemember("v3"), "new version, 3 replicas");
    expect(deployment.replicas.map((r) => r.status)).toEqual(["running", "running", "running"]);
    // Requests are spread over the three replicas' containers, all serving v3.
    expect(await getThroughIngress(url)).toEqual({ status: 200, body: "v3\n" });
  });

  it("restarts three replicas and rolls them back without a failed request", async () => {
    const restarted = await underTraffic(["v3"], restart, "restart, 3 replicas");
    expect(restarted.deployment.buildId).toBe(buildOf.v3);
    const { deployment } = await underTraffic(["v3", "v2"], () => rollback(buildOf.v2!), "rollback, 3 replicas");
    expect(deployment).toMatchObject({ buildId: buildOf.v2, trigger: "rollback" });
    expect(deployment.replicas).toHaveLength(3);
    expect(await getThroughIngress(url)).toEqual({ status: 200, body: "v2\n" });
  });

  it("keeps the old version serving when the new one never becomes healthy, and says why", async () => {
    await stack.api.ok("PATCH", `/api/services/${serviceId}`, {
      healthCheck: { type: "http", path: "/healthz", intervalMs: 100, retries: 3, startPeriodMs: 0 },
    });
    let deployment: Deployment | undefined;
    const report = await trafficDuring(url, async () => {
      deployment = await release("v4");
    });
    expectNoFailure(report, ["v2"], "failing health check");
    expect(deployment?.status).toBe("failed");
    expect(deployment?.reason).toMatch(/health check failed 3 time\(s\) in a row: GET \/healthz/);
    // The replica's last output is kept with the reason.
    expect(deployment?.reason).toContain("starting v4");
    // Its containers are gone; the three serving replicas keep serving.
    expect((await containersWithLabel(`slipway.service=${serviceId}`)).length).toBe(3);
    expect(await getThroughIngress(url)).toEqual({ status: 200, body: "v2\n" });
  });

  it("stops: every replica leaves the route and is removed, a push does not deploy; start brings it back", async () => {
    // The check that passes again, with its start period back (three replicas starting at once on
    // a busy host may take more than a few hundred milliseconds to answer).
    await stack.api.ok("PATCH", `/api/services/${serviceId}`, {
      healthCheck: { type: "http", path: "/", intervalMs: 200 },
    });
    const stop = await stack.api.ok<{ deployment: Deployment & { replicaCount: number } }>(
      "POST",
      `/api/services/${serviceId}/stop`,
      { reason: "maintenance" },
    );
    expect(stop.deployment).toMatchObject({ status: "succeeded", trigger: "stop", replicaCount: 0 });
    await eventually(
      () => getThroughIngress(url),
      (answer) => answer.status === 503,
      { timeoutMs: 30_000, what: "the stopped service's route" },
    );
    await eventually(
      () => containersWithLabel(`slipway.service=${serviceId}`),
      (containers) => containers.length === 0,
      { timeoutMs: 60_000, what: "the stopped service's containers" },
    );

    // A push builds, and its completion deploys nothing while the service is stopped.
    const buildId = await stack.push(site("v5"), "v5");
    await eventually(
      () => stack.api.ok<{ status: string }>("GET", `/api/builds/${buildId}`),
      (build) => ["completed", "failed", "cancelled"].includes(build.status),
      { timeoutMs: 240_000, what: `build ${buildId}` },
    );
    const deployments = await stack.api.ok<Deployment[]>("GET", `/api/services/${serviceId}/deployments`);
    expect(deployments[0]!.id).toBe(stop.deployment.id);

    const start = await stack.api.ok<{ deployment: Deployment }>("POST", `/api/services/${serviceId}/start`);
    const started = await stack.ended(start.deployment.id);
    expect(started).toMatchObject({ status: "succeeded", trigger: "start", buildId: buildOf.v2 });
    expect(started.replicas.map((r) => r.status)).toEqual(["running", "running", "running"]);
    await eventually(
      () => getThroughIngress(url),
      (answer) => answer.status === 200 && answer.body === "v2\n",
      { timeoutMs: 30_000, what: "the started service behind the URL" },
    );
  });
});
