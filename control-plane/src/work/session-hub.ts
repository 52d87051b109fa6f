// The agents connected to this control plane, each through an open session, and the policy of
// whom to wake when work is waiting. The transport (the gRPC adapter) hands each session in as a
// stream of SessionEvents and turns them into its own messages.
//
// Hints go to as many idle agents as there is work waiting (round-robin), not to every agent: with
// a hundred idle agents, a new build must not start a hundred claims of which one can win. And only
// to agents that could claim it (same organisation, the labels the work requires), or a hint
// spent on the wrong agent would leave the right one waiting for its next poll. An agent talks to
// one control plane, so this hub sees its claims and completions and knows how busy it is; every
// heartbeat (which lists what the agent holds) corrects that count.
import type { WaitingWork } from "./sql/waiting-work.js";

/** What the hub needs to know of a connected agent to decide whether a hint could help it. */
export interface SessionAgent {
  id: string;
  orgId: string;
  capabilities: readonly string[];
  labels: Record<string, string>;
}

/** What the agent is asked to read of a replica container's log (deployments/container-log-streams.ts). */
export interface ContainerLogsAsk {
  requestId: string;
  serviceId: string;
  deploymentId: string;
  replicaIndex: number;
  containerId: string;
  tail: number;
  follow: boolean;
  since?: Date;
}

/**
 * What a session tells its agent: look for work of a kind, stop a work item, read a container's log
 * and send it back, or stop reading it.
 */
export type SessionEvent =
  | { type: "work-available"; kind: string }
  | { type: "cancel"; kind: string; id: string; reason: string }
  | ({ type: "container-logs" } & ContainerLogsAsk)
  | { type: "stop-container-logs"; requestId: string };

/** An agent's open session, as the transport provides it. */
export interface SessionStream {
  write(event: SessionEvent): unknown;
  end(): void;
  on(event: "cancelled" | "close" | "error", listener: () => void): unknown;
}

/** Whether an agent carrying `labels` has every pair `required` asks for (SQL's `required <@ labels`). */
const carriesLabels = (labels: Record<string, string>, required: Record<string, string>): boolean =>
  Object.entries(required).every(([key, value]) => labels[key] === value);

/** Whether a hub would treat the two alike (same organisation, capabilities and labels). */
export const sameSessionAgent = (a: SessionAgent, b: SessionAgent): boolean =>
  a.orgId === b.orgId &&
  a.capabilities.join() === b.capabilities.join() &&
  JSON.stringify(Object.entries(a.labels).sort()) === JSON.stringify(Object.entries(b.labels).sort());

interface Session {
  agent: SessionAgent;
  slots: number;
  stream: SessionStream;
}

export class SessionHub {
  private readonly sessions: Session[] = [];
  /**
   * @param capabilityFor the agent capability that takes each kind of work (by default, the
   *   capability named like the kind: "build", "deploy")
   */
  constructor(private readonly capabilityFor: (kind: string) => string = (kind) => kind) {}

  /** Work items each agent holds, as this control plane last heard. */
  private readonly held = new Map<string, number>();
  private cursor = 0;
  private readonly goneListeners: ((agentId: string) => void)[] = [];

  /** Calls `listener` when an agent's last session on this control plane ends. */
  onAgentGone(listener: (agentId: string) => void): void {
    this.goneListeners.push(listener);
  }

  /** Keeps the session until the agent goes away or the hub closes. */
  attach(agent: SessionAgent, slots: number, stream: SessionStream): void {
    const session = { agent, slots: Math.max(1, slots), stream };
    this.sessions.push(session);
    const detach = () => {
      const index = this.sessions.indexOf(session);
      if (index === -1) return;
      this.sessions.splice(index, 1);
      if (!this.hasSession(agent.id)) for (const listener of this.goneListeners) listener(agent.id);
    };
    stream.on("cancelled", detach);
    stream.on("close", detach);
    stream.on("error", detach);
  }

  get connectedAgents(): number {
    return new Set(this.sessions.map((s) => s.agent.id)).size;
  }

  claimed(agentId: string): void {
    this.held.set(agentId, (this.held.get(agentId) ?? 0) + 1);
  }

  finished(agentId: string): void {
    this.held.set(agentId, Math.max(0, (this.held.get(agentId) ?? 0) - 1));
  }

  /** What the agent says it holds (from its heartbeat): the authoritative count. */
  holding(agentId: string, count: number): void {
    this.held.set(agentId, count);
  }

  /** For each group of waiting work, hints as many idle agents able to take it, taking turns between them. */
  hintWork(kind: string, waiting: readonly WaitingWork[]): void {
    for (const group of waiting) {
      this.hint(kind, group.count, (agent) => agent.orgId === group.orgId && carriesLabels(agent.labels, group.labels));
    }
  }

  /** When what waits is unknown (the database did not answer): every idle agent able to take `kind`. */
  hintEveryone(kind: string): void {
    this.hint(kind, Number.POSITIVE_INFINITY, () => true);
  }

  private hint(kind: string, wanted: number, fits: (agent: SessionAgent) => boolean): void {
    let hinted = 0;
    const count = this.sessions.length;
    const capability = this.capabilityFor(kind);
    for (let step = 0; step < count && hinted < wanted; step++) {
      const session = this.sessions[(this.cursor + step) % count] as Session;
      if (!session.agent.capabilities.includes(capability) || !fits(session.agent)) continue;
      if ((this.held.get(session.agent.id) ?? 0) >= session.slots) continue;
      session.stream.write({ type: "work-available", kind });
      hinted++;
      if (hinted === wanted) this.cursor = (this.cursor + step + 1) % count;
    }
  }

  /** Tells the agent holding a work item to stop it (heartbeat replies repeat this until it does). */
  cancel(agentId: string, kind: string, id: string, reason: string): void {
    for (const session of this.sessions) {
      if (session.agent.id !== agentId) continue;
      session.stream.write({ type: "cancel", kind, id, reason });
    }
  }

  /** Whether the agent has an open session on this control plane. */
  hasSession(agentId: string): boolean {
    return this.sessions.some((s) => s.agent.id === agentId);
  }

  /**
   * Sends an event to the agent's newest session (an agent renewing its certificate briefly has two:
   * the event must reach it once). False when the agent has no session here.
   */
  send(agentId: string, event: SessionEvent): boolean {
    const session = this.sessions.findLast((s) => s.agent.id === agentId);
    session?.stream.write(event);
    return session !== undefined;
  }

  /** The agents with an open session, each once. */
  sessionAgents(): SessionAgent[] {
    return [...new Map(this.sessions.map((s) => [s.agent.id, s.agent])).values()];
  }

  /** Ends an agent's sessions (it changed, or was revoked): it reconnects and is taken as it now is. */
  endSessions(agentId: string): void {
    for (const session of this.sessions.filter((s) => s.agent.id === agentId)) session.stream.end();
  }

  /** Ends every session so agents reconnect (to this process after a restart, or to another). */
  closeAll(): void {
    const agents = new Set(this.sessions.map((s) => s.agent.id));
    for (const session of this.sessions.splice(0)) session.stream.end();
    for (const agentId of agents) for (const listener of this.goneListeners) listener(agentId);
  }
}
