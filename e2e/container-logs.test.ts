// A replica's container log through the API, on real parts: PostgreSQL, Redis, podman, the local
// registry, a git server, two control planes and an agent connected to the first. The app prints
// known lines when it starts and one more for each request to its CGI script; the API returns the
// recent ones, follows new ones live, and the agent stops reading when the client goes away, also
// when the request reaches the control plane the agent is not connected to (relayed through Redis).
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClient, eventually, type ApiClient } from "../test-support/api.js";
import { TEST_ACTOR, TEST_ADDRESSES } from "../test-support/fixtures.js";
import { startIngressStack, type IngressStack } from "../test-support/ingress-stack.js";
import type { ChildHandle, ControlPlaneProcess } from "../test-support/processes.js";
import { BASE_IMAGE } from "../test-support/registry.js";
import { createProject, createService } from "../control-plane/src/projects/project-repository.js";

interface LogEvent {
  stream: "stdout" | "stderr";
  line: string;
  time: string | null;
  truncated?: boolean;
}

/** An app that prints a line on each stream when it starts, and `visited <query>` for each CGI request. */
const app = {
  Containerfile: [
    `FROM ${BASE_IMAGE}`,
    "COPY www /www",
    "RUN chmod +x /www/cgi-bin/log",
    'CMD ["sh", "-c", "echo hello on stdout; echo hello on stderr >&2; exec httpd -f -p 8080 -h /www"]',
    "",
  ].join("\n"),
  "www/index.html": "ok\n",
  "www/cgi-bin/log": [
    "#!/bin/sh",
    'echo "visited $QUERY_STRING" >&2',
    // CRLF: busybox passes the CGI's header block on as it is, and Node's HTTP parser is strict.
    "printf 'Content-Type: text/plain\\r\\n\\r\\nlogged\\n'",
    "",
  ].join("\n"),
};

/** An open SSE response, read event by event. */
class EventReader {
  readonly events: { event: string; data: string }[] = [];
  private buffer = "";
  private done = false;
  private wake: () => void = () => {};
  readonly controller = new AbortController();

  constructor(private readonly response: Response) {
    void this.pump();
  }

  private async pump(): Promise<void> {
    const reader = (this.response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf("\n\n")) !== -1) {
          const block = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
          const data = [...block.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join("\n");
          this.events.push({ event, data });
          this.wake();
        }
      }
    } catch {
      // aborted by the test
    } finally {
      this.done = true;
      this.wake();
    }
  }

  get logs(): LogEvent[] {
    return this.events.filter((e) => e.event === "log").map((e) => JSON.parse(e.data) as LogEvent);
  }

  /** Waits until `condition` holds for what arrived, or the stream ended; fails after 60 s. */
  async until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!condition()) {
      if (this.done) throw new Error(`the stream ended before ${what}: ${JSON.stringify(this.events)}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Reads to the end of the stream (the `end` event and the connection closing). */
  async toEnd(): Promise<{ event: string; data: string }[]> {
    await this.until(() => this.done, "the end");
    return this.events;
  }
}

describe("a replica's container log through the API", () => {
  let stack: IngressStack;
  let first: ControlPlaneProcess;
  let second: ControlPlaneProcess;
  let agent: ChildHandle;
  let api: ApiClient;
  let projectId: string;
  let serviceId: string;
  let endpoint: string;

  async function openLogs(controlPlane: ControlPlaneProcess, query: string, id = serviceId): Promise<EventReader> {
    const controller = new AbortController();
    const response = await fetch(`${controlPlane.httpUrl}/api/services/${id}/logs?${query}`, {
      headers: { authorization: `Bearer ${stack.token}` },
      signal: controller.signal,
    });
    expect(response.status, await (response.status === 200 ? "" : response.clone().text())).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = new EventReader(response);
    reader.controller.signal.addEventListener("abort", () => controller.abort());
    return reader;
  }

  /** How many of the agent's log readers it stopped because the control plane said nobody reads. */
  const stoppedReaders = () =>
    agent.lines.filter((line) => line.includes('"msg":"container logs ended"') && line.includes('"outcome":"stopped"'))
      .length;

  /** Requests the app's CGI script, which prints `visited <probe>` on stderr. */
  async function visit(probe: string): Promise<void> {
    const response = await fetch(`http://${endpoint}/cgi-bin/log?${probe}`);
    expect(await response.text()).toBe("logged\n");
  }

  beforeAll(async () => {
    // Two control planes; the agent connects to the first.
    stack = await startIngressStack({ service: { name: "app" }, otherControlPlanes: 1 });
    first = stack.controlPlane;
    second = stack.otherControlPlanes[0] as ControlPlaneProcess;
    ({ api, projectId, serviceId } = stack);
    agent = (await stack.startAgent("local", ["build", "deploy"], { KILL_GRACE_SECONDS: "2" })).handle;
    const deployment = await stack.deploymentOf(await stack.push(app, "An app that logs"));
    expect(deployment.status, deployment.reason ?? "").toBe("succeeded");
    endpoint = deployment.replicas[0]?.endpoint as string;
  });

  afterAll(async () => {
    await stack?.close();
  });

  it("returns the last lines the replica printed, on both streams, then ends", async () => {
    const probe = `probe=${randomUUID()}`;
    await visit(probe);
    // The request's line may reach the log a moment after the answer: read again until it is there.
    const events = await eventually(
      async () => (await openLogs(first, "follow=false&tail=100")).toEnd(),
      (all) => all.some((e) => e.data.includes(probe)),
      { timeoutMs: 30_000, what: "the visit's line in the log" },
    );
    const logs = events.filter((e) => e.event === "log").map((e) => JSON.parse(e.data) as LogEvent);
    expect(logs).toContainEqual({ stream: "stdout", line: "hello on stdout", time: expect.any(String) });
    expect(logs).toContainEqual({ stream: "stderr", line: "hello on stderr", time: expect.any(String) });
    expect(logs).toContainEqual({ stream: "stderr", line: `visited ${probe}`, time: expect.any(String) });
    for (const log of logs) expect(Math.abs(Date.parse(log.time as string) - Date.now())).toBeLessThan(600_000);
    expect(events.at(-1)).toEqual({ event: "end", data: "{}" });

    const last = await (await openLogs(first, "follow=false&tail=1")).toEnd();
    expect(last.filter((e) => e.event === "log").map((e) => (JSON.parse(e.data) as LogEvent).line)).toEqual([
      `visited ${probe}`,
    ]);
  });

  it("follows new lines live, and the agent stops reading when the client disconnects", async () => {
    const stoppedBefore = stoppedReaders();
    const reader = await openLogs(first, "follow=true&tail=1");
    await reader.until(() => reader.logs.length === 1, "the last line");
    const probe = `live=${randomUUID()}`;
    await visit(probe);
    await reader.until(() => reader.logs.some((l) => l.line === `visited ${probe}`), "the new line");
    expect(reader.events.some((e) => e.event === "end")).toBe(false);

    reader.controller.abort();
    await eventually(
      async () => stoppedReaders(),
      (count) => count === stoppedBefore + 1,
      { timeoutMs: 30_000, what: "the agent to stop reading the log" },
    );
  });

  it("relays the log through the other control plane when the agent is not connected to it", async () => {
    const stoppedBefore = stoppedReaders();
    const reader = await openLogs(second, "follow=true&tail=5");
    await reader.until(() => reader.logs.length > 0, "the last lines");
    const probe = `relayed=${randomUUID()}`;
    await visit(probe);
    await reader.until(() => reader.logs.some((l) => l.line === `visited ${probe}`), "the new line, relayed");

    reader.controller.abort();
    await eventually(
      async () => stoppedReaders(),
      (count) => count === stoppedBefore + 1,
      { timeoutMs: 30_000, what: "the agent to stop reading the relayed log" },
    );

    const recent = await (await openLogs(second, "follow=false&tail=3")).toEnd();
    expect(recent.map((e) => e.event)).toContain("end");
    expect(recent.some((e) => e.data.includes(probe))).toBe(true);
  });

  it("answers bad input, unknown services and other organisations' services with a clear error", async () => {
    for (const tail of ["0", "5001", "x"]) {
      const response = await api.request<{ error: string }>("GET", `/api/services/${serviceId}/logs?tail=${tail}`);
      expect(response.status).toBe(400);
      expect(response.body.error).toMatch(/tail/);
    }
    expect((await api.request("GET", `/api/services/not-a-uuid/logs`)).status).toBe(400);
    expect((await api.request("GET", `/api/services/${randomUUID()}/logs`)).status).toBe(404);
    const replica = await api.request<{ error: string }>("GET", `/api/services/${serviceId}/logs?replica=3`);
    expect(replica.status).toBe(404);
    expect(replica.body.error).toMatch(/replica 3/);
    const deployment = await api.request("GET", `/api/services/${serviceId}/logs?deploymentId=${randomUUID()}`);
    expect(deployment.status).toBe(404);

    // Another organisation's service exists, but not for this caller.
    const org = await stack.database.db
      .insertInto("organizations")
      .values({ name: `other-${randomBytes(3).toString("hex")}` })
      .returning("id")
      .executeTakeFirstOrThrow();
    const actor = { ...TEST_ACTOR, orgId: org.id };
    const project = await createProject(stack.database.db, actor, "theirs");
    const theirs = await createService(stack.database.db, actor, TEST_ADDRESSES, project.id, {
      name: "web",
      gitUrl: "https://example.invalid/them/web.git",
      branch: "main",
      containerPort: 8080,
    });
    expect((await api.request("GET", `/api/services/${theirs.id}/logs`)).status).toBe(404);

    // A service of ours that never ran.
    const idle = await api.ok<{ id: string }>("POST", `/api/projects/${projectId}/services`, {
      name: "idle",
      gitUrl: "https://example.invalid/us/idle.git",
      branch: "main",
      containerPort: 8080,
    });
    const none = await api.request<{ error: string }>("GET", `/api/services/${idle.id}/logs`);
    expect(none.status).toBe(409);
    expect(none.body.error).toMatch(/no running replica/);
  });

  it("says the agent is away when the agent holding the replica is connected to no control plane", async () => {
    await agent.stop();
    for (const controlPlane of [first, second]) {
      // The first control plane notices the session's end a moment after the agent exits.
      const response = await eventually(
        () =>
          apiClient(controlPlane.httpUrl, stack.token).request<{ error: string }>(
            "GET",
            `/api/services/${serviceId}/logs`,
          ),
        (r) => r.status !== 200,
        { timeoutMs: 30_000, what: "the agent's session to end" },
      );
      expect(response.status).toBe(503);
      expect(response.body.error).toMatch(/is not connected to any control plane/);
    }
  });
});
