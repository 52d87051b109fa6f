// The open Session streams of the agents connected to this control plane. It forwards work hints
// from the WorkListener (which hears every control plane's inserts) to the agents that can take them.
import type { ServerWritableStream } from "@grpc/grpc-js";
import type { SessionRequest, SessionResponse } from "@slipway/proto";
import { WorkKind } from "@slipway/proto";
import type { WorkKindName } from "./work-notifier.js";

type SessionCall = ServerWritableStream<SessionRequest, SessionResponse>;

interface Session {
  agentId: string;
  capabilities: string[];
  call: SessionCall;
}

export class SessionHub {
  private readonly sessions = new Set<Session>();

  /** Keeps the stream open until the agent goes away or the hub closes. */
  attach(agentId: string, capabilities: string[], call: SessionCall): void {
    const session = { agentId, capabilities, call };
    this.sessions.add(session);
    const detach = () => this.sessions.delete(session);
    call.on("cancelled", detach);
    call.on("close", detach);
    call.on("error", detach);
  }

  get connectedAgents(): number {
    return new Set([...this.sessions].map((s) => s.agentId)).size;
  }

  hintWork(kind: WorkKindName): void {
    const workKind = kind === "build" ? WorkKind.WORK_KIND_BUILD : WorkKind.WORK_KIND_DEPLOY;
    for (const session of this.sessions) {
      if (!session.capabilities.includes(kind)) continue;
      session.call.write({ event: { $case: "workAvailable", value: { kind: workKind } } });
    }
  }

  /** Tells the agent holding a work item to stop it (heartbeat replies repeat this until it does). */
  cancel(agentId: string, kind: WorkKindName, id: string, reason: string): void {
    const workKind = kind === "build" ? WorkKind.WORK_KIND_BUILD : WorkKind.WORK_KIND_DEPLOY;
    for (const session of this.sessions) {
      if (session.agentId !== agentId) continue;
      session.call.write({ event: { $case: "cancel", value: { kind: workKind, id, reason } } });
    }
  }

  /** Ends every stream so agents reconnect (to this process after a restart, or to another). */
  closeAll(): void {
    for (const session of this.sessions) session.call.end();
    this.sessions.clear();
  }
}
