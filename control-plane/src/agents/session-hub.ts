// The open Session streams of the agents connected to this control plane. It forwards work hints
// from the WorkListener (which hears every control plane's inserts) to agents that can take them.
//
// Hints go to as many idle agents as there is work waiting (round-robin), not to every agent: with
// a hundred idle agents, a new build must not start a hundred claims of which one can win. And only
// to agents that could claim it (same organisation, the labels the service requires), or a hint
// spent on the wrong agent would leave the right one waiting for its next poll. An agent
// talks to one control plane, so this hub sees its claims and completions and knows how busy it is;
// every heartbeat (which lists what the agent holds) corrects that count.
import type { ServerWritableStream } from "@grpc/grpc-js";
import type { SessionRequest, SessionResponse } from "@slipway/proto";
import { WorkKind } from "@slipway/proto";
import { carriesLabels } from "./agent-labels.js";
import type { WaitingWork, WorkKindName } from "./work-notifier.js";

type SessionCall = ServerWritableStream<SessionRequest, SessionResponse>;

/** What the hub needs to know of a connected agent to decide whether a hint could help it. */
export interface SessionAgent {
  id: string;
  orgId: string;
  capabilities: string[];
  labels: Record<string, string>;
}

/** Whether a hub would treat the two alike (same organisation, capabilities and labels). */
export const sameSessionAgent = (a: SessionAgent, b: SessionAgent): boolean =>
  a.orgId === b.orgId &&
  a.capabilities.join() === b.capabilities.join() &&
  JSON.stringify(Object.entries(a.labels).sort()) === JSON.stringify(Object.entries(b.labels).sort());

interface Session {
  agent: SessionAgent;
  slots: number;
  call: SessionCall;
}

const workKind = (kind: WorkKindName) => (kind === "build" ? WorkKind.WORK_KIND_BUILD : WorkKind.WORK_KIND_DEPLOY);

export class SessionHub {
  private readonly sessions: Session[] = [];
  /** Work items each agent holds, as this control plane last heard. */
  private readonly held = new Map<string, number>();
  private cursor = 0;

  /** Keeps the stream open until the agent goes away or the hub closes. */
  attach(agent: SessionAgent, slots: number, call: SessionCall): void {
    const session = { agent, slots: Math.max(1, slots), call };
    this.sessions.push(session);
    const detach = () => {
      const index = this.sessions.indexOf(session);
      if (index !== -1) this.sessions.splice(index, 1);
    };
    call.on("cancelled", detach);
    call.on("close", detach);
    call.on("error", detach);
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
  hintWork(kind: WorkKindName, waiting: readonly WaitingWork[]): void {
    for (const group of waiting) {
      this.hint(kind, group.count, (agent) => agent.orgId === group.orgId && carriesLabels(agent.labels, group.labels));
    }
  }

  /** When what waits is unknown (the database did not answer): every idle agent able to take `kind`. */
  hintEveryone(kind: WorkKindName): void {
    this.hint(kind, Number.POSITIVE_INFINITY, () => true);
  }

  private hint(kind: WorkKindName, wanted: number, fits: (agent: SessionAgent) => boolean): void {
    let hinted = 0;
    const count = this.sessions.length;
    for (let step = 0; step < count && hinted < wanted; step++) {
      const session = this.sessions[(this.cursor + step) % count] as Session;
      if (!session.agent.capabilities.includes(kind) || !fits(session.agent)) continue;
      if ((this.held.get(session.agent.id) ?? 0) >= session.slots) continue;
      session.call.write({ event: { $case: "workAvailable", value: { kind: workKind(kind) } } });
      hinted++;
      if (hinted === wanted) this.cursor = (this.cursor + step + 1) % count;
    }
  }

  /** Tells the agent holding a work item to stop it (heartbeat replies repeat this until it does). */
  cancel(agentId: string, kind: WorkKindName, id: string, reason: string): void {
    for (const session of this.sessions) {
      if (session.agent.id !== agentId) continue;
      session.call.write({ event: { $case: "cancel", value: { kind: workKind(kind), id, reason } } });
    }
  }

  /** The agents with an open stream, each once. */
  sessionAgents(): SessionAgent[] {
    return [...new Map(this.sessions.map((s) => [s.agent.id, s.agent])).values()];
  }

  /** Ends an agent's streams (it changed, or was revoked): it reconnects and is taken as it now is. */
  endSessions(agentId: string): void {
    for (const session of this.sessions.filter((s) => s.agent.id === agentId)) session.call.end();
  }

  /** Ends every stream so agents reconnect (to this process after a restart, or to another). */
  closeAll(): void {
    for (const session of this.sessions.splice(0)) session.call.end();
  }
}
