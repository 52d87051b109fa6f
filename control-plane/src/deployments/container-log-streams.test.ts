// Container log streams between readers and agents' sessions: on one control plane, and between two
// relayed through a real Redis. The agents' sessions are stand-ins recording what they were told.
import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { DomainError } from "../errors.js";
import { SessionHub, type SessionEvent } from "../work/session-hub.js";
import { ContainerLogStreams, type ContainerLogLine, type LogReadRequest } from "./container-log-streams.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

function session() {
  const call = Object.assign(new EventEmitter(), {
    written: [] as SessionEvent[],
    write(event: SessionEvent) {
      call.written.push(event);
      return true;
    },
    end() {
      call.emit("close");
    },
  });
  return call;
}

function connect(hub: SessionHub, agentId = randomUUID()) {
  const call = session();
  hub.attach({ id: agentId, orgId: "org", capabilities: ["deploy"], labels: {} }, 1, call);
  const asks = () => call.written.filter((e) => e.type === "container-logs");
  const stops = () => call.written.filter((e) => e.type === "stop-container-logs");
  return { agentId, call, asks, stops };
}

function sink() {
  const got = { lines: [] as ContainerLogLine[], ended: undefined as { error?: string } | undefined };
  return {
    got,
    sink: {
      lines: async (lines: ContainerLogLine[]) => void got.lines.push(...lines),
      end: (error?: string) => void (got.ended = { error }),
    },
  };
}

const request: LogReadRequest = {
  serviceId: randomUUID(),
  deploymentId: randomUUID(),
  replicaIndex: 0,
  containerId: "c".repeat(64),
  tail: 10,
  follow: true,
};
const line = (text: string): ContainerLogLine => ({ stream: "stdout", line: text, time: null });

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("container log streams on one control plane", () => {
  it("asks the agent, passes its lines and end to the reader, and tells the agent to stop when the reader goes", async () => {
    const hub = new SessionHub();
    const streams = new ContainerLogStreams(hub);
    const agent = connect(hub);
    const reader = sink();
    const close = await streams.open(agent.agentId, request, reader.sink);
    const [ask] = agent.asks();
    expect(ask).toMatchObject({ type: "container-logs", ...request, requestId: expect.any(String) });
    const requestId = (ask as { requestId: string }).requestId;

    expect(await streams.deliver(agent.agentId, requestId, { type: "lines", lines: [line("one")] })).toEqual({
      stop: false,
    });
    expect(reader.got.lines).toEqual([line("one")]);
    // Another agent cannot write into the stream.
    expect(await streams.deliver(randomUUID(), requestId, { type: "lines", lines: [line("forged")] })).toEqual({
      stop: true,
    });
    expect(reader.got.lines).toEqual([line("one")]);

    close();
    expect(agent.stops()).toEqual([{ type: "stop-container-logs", requestId }]);
    expect(await streams.deliver(agent.agentId, requestId, { type: "lines", lines: [line("late")] })).toEqual({
      stop: true,
    });
    expect(streams.count(agent.agentId)).toBe(0);
  });

  it("refuses more streams than the limit per agent, and ends streams when the agent disconnects", async () => {
    const hub = new SessionHub();
    const streams = new ContainerLogStreams(hub, { perAgent: 2 });
    const agent = connect(hub);
    const readers = [sink(), sink()];
    for (const reader of readers) await streams.open(agent.agentId, request, reader.sink);
    const refused = await streams.open(agent.agentId, request, sink().sink).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ problem: "too-many", message: expect.stringMatching(/already streams 2 logs/) });

    agent.call.end();
    for (const reader of readers) expect(reader.got.ended).toEqual({ error: expect.stringMatching(/disconnected/) });
    expect(streams.count()).toBe(0);
  });

  it("says an agent with no session here is not connected when there is no relay", async () => {
    const streams = new ContainerLogStreams(new SessionHub());
    await expect(streams.open(randomUUID(), request, sink().sink)).rejects.toMatchObject({
      problem: "unavailable",
      message: expect.stringMatching(/not connected to any control plane/),
    });
  });
});

describe("container log streams relayed between two control planes through Redis", () => {
  const started: ContainerLogStreams[] = [];
  afterEach(async () => {
    for (const streams of started.splice(0)) await streams.stop();
  });

  async function controlPlane(options: { perAgent?: number } = {}) {
    const hub = new SessionHub();
    const streams = new ContainerLogStreams(hub, { redisUrl: REDIS_URL, ...options });
    await streams.start();
    started.push(streams);
    return { hub, streams };
  }

  it("reaches the agent on the other control plane, brings its lines back, and stops it when the reader goes", async () => {
    const a = await controlPlane();
    const b = await controlPlane();
    const agent = connect(b.hub);
    const reader = sink();
    const close = await a.streams.open(
      agent.agentId,
      { ...request, since: new Date("2026-01-02T03:04:05Z") },
      reader.sink,
    );
    const [ask] = agent.asks();
    expect(ask).toMatchObject({ ...request, since: new Date("2026-01-02T03:04:05Z") });
    const requestId = (ask as { requestId: string }).requestId;
    expect(b.streams.count(agent.agentId)).toBe(1);

    expect(await b.streams.deliver(agent.agentId, requestId, { type: "lines", lines: [line("a"), line("b")] })).toEqual(
      { stop: false },
    );
    await until(() => reader.got.lines.length === 2, "the relayed lines");
    expect(reader.got.lines).toEqual([line("a"), line("b")]);

    close();
    await until(() => agent.stops().length === 1, "the stop to reach the agent");
    expect(agent.stops()).toEqual([{ type: "stop-container-logs", requestId }]);
    expect(b.streams.count(agent.agentId)).toBe(0);
    expect(await b.streams.deliver(agent.agentId, requestId, { type: "lines", lines: [line("late")] })).toEqual({
      stop: true,
    });
  });

  it("passes the agent's end on, and ends the reader's stream when the agent disconnects", async () => {
    const a = await controlPlane();
    const b = await controlPlane();
    const agent = connect(b.hub);
    const ended = sink();
    await a.streams.open(agent.agentId, request, ended.sink);
    const first = (agent.asks()[0] as { requestId: string }).requestId;
    await b.streams.deliver(agent.agentId, first, { type: "end", error: "container is gone" });
    await until(() => ended.got.ended !== undefined, "the end");
    expect(ended.got.ended).toEqual({ error: "container is gone" });

    const dropped = sink();
    await a.streams.open(agent.agentId, request, dropped.sink);
    agent.call.end();
    await until(() => dropped.got.ended !== undefined, "the end after the agent left");
    expect(dropped.got.ended).toEqual({ error: expect.stringMatching(/disconnected/) });

    // The control plane holding the agent stops: the reader elsewhere hears it.
    const again = connect(b.hub);
    const orphaned = sink();
    await a.streams.open(again.agentId, request, orphaned.sink);
    await b.streams.stop();
    await until(() => orphaned.got.ended !== undefined, "the end after that control plane stopped");
    expect(orphaned.got.ended).toEqual({ error: expect.stringMatching(/stopping/) });
  });

  it("answers 503 when no control plane holds the agent, and 429 when its control plane is at the limit", async () => {
    const a = await controlPlane();
    const b = await controlPlane({ perAgent: 1 });
    await expect(a.streams.open(randomUUID(), request, sink().sink)).rejects.toMatchObject({
      problem: "unavailable",
    });
    const agent = connect(b.hub);
    await a.streams.open(agent.agentId, request, sink().sink);
    await expect(a.streams.open(agent.agentId, request, sink().sink)).rejects.toMatchObject({
      problem: "too-many",
    });
  });
});
