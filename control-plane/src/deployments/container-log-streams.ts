// Live container log streams between HTTP readers and the agents holding replicas.
//
// A reader (GET /api/services/:id/logs, container-log-routes.ts) opens a stream for the agent
// holding the replica. When that agent's session is on this control plane, the request goes out on
// it and the lines the agent sends back (SendContainerLogs) go straight to the reader. Otherwise the
// request is relayed through Redis pub/sub: every control plane hears it on OPEN_CHANNEL, the one
// holding the agent's session answers and forwards it, and relays the agent's lines back on the
// stream's own channel (`slipway:container-logs:<request id>`), to which the reader's control plane
// subscribed before asking. A reader going away sends a stop (to the agent, or on STOP_CHANNEL to
// the control plane that holds it); a batch that reaches nobody is answered with `stop`, so an agent
// never reads for a reader that is gone. The control plane holding an agent's session counts that
// agent's streams and refuses more than `perAgent`.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { DomainError, unavailable } from "../errors.js";
import type { ContainerLogsAsk, SessionHub } from "../work/session-hub.js";

export interface ContainerLogLine {
  stream: "stdout" | "stderr";
  line: string;
  /** ISO 8601, when the container runtime received the line. */
  time: string | null;
  truncated?: boolean;
}

/** Where a stream's lines go: the HTTP reader. */
export interface LogSink {
  /** Resolves once the reader took them in (the agent's next batch waits for that). */
  lines(lines: ContainerLogLine[]): Promise<void>;
  /** The log ended: all of it sent, or it failed (`error`). Nothing more comes. */
  end(error?: string): void;
}

export type LogReadRequest = Omit<ContainerLogsAsk, "requestId">;

/** What the agent sent for a stream. */
export type AgentLogEvent = { type: "lines"; lines: ContainerLogLine[] } | { type: "end"; error: string };

export const OPEN_CHANNEL = "slipway:container-logs:open";
export const STOP_CHANNEL = "slipway:container-logs:stop";
const streamChannel = (requestId: string) => `slipway:container-logs:${requestId}`;

type RelayMessage =
  | { type: "accepted" }
  | { type: "absent" }
  | { type: "refused"; message: string }
  | { type: "lines"; agentId: string; lines: ContainerLogLine[] }
  | { type: "end"; agentId: string; error: string };

interface OpenMessage {
  requestId: string;
  agentId: string;
  request: Omit<LogReadRequest, "since"> & { since?: string };
}

/** Too many streams for one agent: 429. */
export const tooManyStreams = (limit: number) =>
  new DomainError("too-many", `the agent holding this replica already streams ${limit} logs; try again later`);

const agentAway = (agentId: string) =>
  unavailable(
    `the agent holding this replica (${agentId}) is not connected to any control plane; its logs cannot be read until it reconnects`,
  );

export class ContainerLogStreams {
  /** Streams whose agent and reader are both here. */
  private readonly local = new Map<string, { agentId: string; sink: LogSink }>();
  /** Streams whose agent is here and reader on another control plane. */
  private readonly relayed = new Map<string, { agentId: string }>();
  /** Streams whose reader is here and agent on another control plane. */
  private readonly remote = new Map<string, { agentId: string; sink: LogSink; onAnswer?: (m: RelayMessage) => void }>();
  private publisher: Redis | undefined;
  private subscriber: Redis | undefined;

  constructor(
    private readonly hub: SessionHub,
    private readonly options: { redisUrl?: string; perAgent?: number; answerTimeoutMs?: number } = {},
  ) {
    hub.onAgentGone((agentId) => this.agentGone(agentId));
  }

  private get perAgent(): number {
    return this.options.perAgent ?? 16;
  }

  /** Connects the relay (without a Redis URL, only agents connected here can be read). */
  async start(): Promise<void> {
    if (!this.options.redisUrl) return;
    this.publisher = new Redis(this.options.redisUrl, { maxRetriesPerRequest: 2 });
    this.subscriber = new Redis(this.options.redisUrl, { maxRetriesPerRequest: 2 });
    this.publisher.on("error", () => {});
    this.subscriber.on("error", () => {});
    this.subscriber.on("message", (channel: string, payload: string) => this.onMessage(channel, payload));
    // Redis being down does not keep the control plane from starting: ioredis subscribes again
    // once it connects. Until then, only agents connected here can be read.
    const subscribed = this.subscriber.subscribe(OPEN_CHANNEL, STOP_CHANNEL).catch(() => 0);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([subscribed, new Promise((resolve) => (timer = setTimeout(resolve, 3000)))]);
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    const reason = "the control plane relaying this log is stopping";
    for (const [requestId, stream] of [...this.local, ...this.remote]) {
      this.local.delete(requestId);
      this.remote.delete(requestId);
      stream.sink.end(reason);
    }
    // Readers on other control planes hear it too, rather than waiting on a stream nobody feeds.
    for (const [requestId, { agentId }] of this.relayed) {
      this.relayed.delete(requestId);
      const message: RelayMessage = { type: "end", agentId, error: reason };
      await this.publisher?.publish(streamChannel(requestId), JSON.stringify(message)).catch(() => {});
    }
    this.subscriber?.disconnect();
    // quit, not disconnect: the ends published just before still go out.
    await this.publisher?.quit().catch(() => {});
  }

  /** Streams open with an agent connected here, for `agentId` or in all. */
  count(agentId?: string): number {
    const all = [...this.local.values(), ...this.relayed.values()];
    return agentId === undefined ? all.length : all.filter((s) => s.agentId === agentId).length;
  }

  /**
   * Asks the agent for the log and sends what it returns to `sink`. Returns the function that closes
   * the stream (the reader went away). Throws when the agent is not connected anywhere, or is busy.
   */
  async open(agentId: string, request: LogReadRequest, sink: LogSink): Promise<() => void> {
    const requestId = randomUUID();
    if (this.hub.hasSession(agentId)) {
      if (this.count(agentId) >= this.perAgent) throw tooManyStreams(this.perAgent);
      this.local.set(requestId, { agentId, sink });
      this.hub.send(agentId, { type: "container-logs", requestId, ...request });
      return () => {
        if (this.local.delete(requestId)) this.hub.send(agentId, { type: "stop-container-logs", requestId });
      };
    }
    const { publisher, subscriber } = this;
    if (!publisher || !subscriber) throw agentAway(agentId);

    const entry: { agentId: string; sink: LogSink; onAnswer?: (m: RelayMessage) => void } = { agentId, sink };
    this.remote.set(requestId, entry);
    const channel = streamChannel(requestId);
    try {
      await subscriber.subscribe(channel);
      const answered = new Promise<RelayMessage>((resolve) => {
        let absent = 0;
        let receivers = Number.POSITIVE_INFINITY;
        const timer = setTimeout(() => resolve({ type: "absent" }), this.options.answerTimeoutMs ?? 5000);
        const settle = (message: RelayMessage) => {
          clearTimeout(timer);
          entry.onAnswer = undefined;
          resolve(message);
        };
        entry.onAnswer = (message) => {
          if (message.type !== "absent") return settle(message);
          if (++absent >= receivers) settle(message);
        };
        const open: OpenMessage = {
          requestId,
          agentId,
          request: { ...request, since: request.since?.toISOString() },
        };
        // Every control plane (this one too) answers; when all said "not here", nobody holds it.
        void publisher.publish(OPEN_CHANNEL, JSON.stringify(open)).then(
          (count) => {
            receivers = count;
            if (absent >= receivers) settle({ type: "absent" });
          },
          () => settle({ type: "absent" }),
        );
      });
      const answer = await answered;
      if (answer.type === "refused") throw new DomainError("too-many", answer.message);
      if (answer.type !== "accepted") throw agentAway(agentId);
    } catch (error) {
      this.remote.delete(requestId);
      void subscriber.unsubscribe(channel).catch(() => {});
      throw error;
    }
    return () => {
      if (!this.remote.delete(requestId)) return;
      void subscriber.unsubscribe(channel).catch(() => {});
      void publisher.publish(STOP_CHANNEL, requestId).catch(() => {});
    };
  }

  /** What an agent sent for a stream (SendContainerLogs); `stop` when nobody reads it any more. */
  async deliver(agentId: string, requestId: string, event: AgentLogEvent): Promise<{ stop: boolean }> {
    const local = this.local.get(requestId);
    if (local) {
      if (local.agentId !== agentId) return { stop: true };
      if (event.type === "end") {
        this.local.delete(requestId);
        local.sink.end(event.error || undefined);
        return { stop: false };
      }
      await local.sink.lines(event.lines);
      return { stop: !this.local.has(requestId) };
    }
    const relayed = this.relayed.get(requestId);
    if (relayed && relayed.agentId === agentId && this.publisher) {
      const message: RelayMessage =
        event.type === "end"
          ? { type: "end", agentId, error: event.error }
          : { type: "lines", agentId, lines: event.lines };
      const receivers = await this.publisher.publish(streamChannel(requestId), JSON.stringify(message)).catch(() => 0);
      if (event.type === "end" || receivers === 0) this.relayed.delete(requestId);
      return { stop: receivers === 0 };
    }
    return { stop: true };
  }

  /** The agent's last session here ended: its streams here end (it stops reading them too). */
  private agentGone(agentId: string): void {
    const reason = "the agent holding this replica disconnected";
    for (const [requestId, stream] of this.local) {
      if (stream.agentId !== agentId) continue;
      this.local.delete(requestId);
      stream.sink.end(reason);
    }
    for (const [requestId, stream] of this.relayed) {
      if (stream.agentId !== agentId) continue;
      this.relayed.delete(requestId);
      const message: RelayMessage = { type: "end", agentId, error: reason };
      void this.publisher?.publish(streamChannel(requestId), JSON.stringify(message)).catch(() => {});
    }
  }

  private onMessage(channel: string, payload: string): void {
    try {
      if (channel === OPEN_CHANNEL) this.onOpen(JSON.parse(payload) as OpenMessage);
      else if (channel === STOP_CHANNEL) this.onStop(payload);
      else this.onRelayed(channel.slice(streamChannel("").length), JSON.parse(payload) as RelayMessage);
    } catch {
      // A malformed message from another process changes nothing here.
    }
  }

  /** Another control plane's reader asks for a log: forward it when the agent is connected here. */
  private onOpen({ requestId, agentId, request }: OpenMessage): void {
    const reply = (message: RelayMessage) =>
      void this.publisher?.publish(streamChannel(requestId), JSON.stringify(message)).catch(() => {});
    if (!this.hub.hasSession(agentId)) return reply({ type: "absent" });
    if (this.count(agentId) >= this.perAgent)
      return reply({ type: "refused", message: tooManyStreams(this.perAgent).message });
    this.relayed.set(requestId, { agentId });
    reply({ type: "accepted" });
    this.hub.send(agentId, {
      type: "container-logs",
      requestId,
      ...request,
      since: request.since ? new Date(request.since) : undefined,
    });
  }

  private onStop(requestId: string): void {
    const stream = this.relayed.get(requestId);
    if (!stream) return;
    this.relayed.delete(requestId);
    this.hub.send(stream.agentId, { type: "stop-container-logs", requestId });
  }

  /** A message for a stream whose reader is here. */
  private onRelayed(requestId: string, message: RelayMessage): void {
    const stream = this.remote.get(requestId);
    if (!stream) return;
    if (stream.onAnswer) return stream.onAnswer(message);
    if (message.type === "lines" && message.agentId === stream.agentId) void stream.sink.lines(message.lines);
    if (message.type === "end" && message.agentId === stream.agentId) {
      this.remote.delete(requestId);
      void this.subscriber?.unsubscribe(streamChannel(requestId)).catch(() => {});
      stream.sink.end(message.error || undefined);
    }
  }
}
