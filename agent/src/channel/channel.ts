// The client side of the agent channel (proto/slipway/agent/v1/agent.proto): promise-returning
// calls that carry the agent's identity, and the session stream of hints.
import { credentials, Metadata, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import {
  AgentServiceClient,
  METADATA,
  PROTOCOL_VERSION,
  type AppendLogRequest,
  type AppendLogResponse,
  type ClaimRequest,
  type ClaimResponse,
  type CompleteRequest,
  type GetGitCredentialsRequest,
  type ReleaseRequest,
  type GetGitCredentialsResponse,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type RegisterResponse,
  type ReportStatusRequest,
  type SessionResponse,
} from "@slipway/proto";
import type { AgentIdentity } from "./identity-store.js";

/** Pings every 20 s keep NAT and proxies open; the server permits one every 5 s. */
const CLIENT_OPTIONS = {
  "grpc.keepalive_time_ms": 20_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.keepalive_permit_without_calls": 1,
};

const CALL_DEADLINE_MS = 30_000;

/** The control plane no longer considers this agent the holder of the work. */
export const isLeaseLost = (error: unknown) => (error as ServiceError | undefined)?.code === status.FAILED_PRECONDITION;

/** Worth retrying: the call may not have reached the control plane, or it failed there transiently. */
const TRANSIENT_CODES: number[] = [
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.INTERNAL,
  status.RESOURCE_EXHAUSTED,
  status.ABORTED,
];
export const isTransient = (error: unknown) =>
  TRANSIENT_CODES.includes((error as ServiceError | undefined)?.code ?? -1);

function client(server: string): AgentServiceClient {
  // TLS for the channel arrives with enrolment certificates; until then it runs in the WireGuard mesh.
  return new AgentServiceClient(server, credentials.createInsecure(), CLIENT_OPTIONS);
}

/** Exchanges a join token for an identity. */
export async function register(
  server: string,
  joinToken: string,
  hostname: string,
  agentVersion: string,
): Promise<RegisterResponse> {
  const c = client(server);
  try {
    return await new Promise<RegisterResponse>((resolve, reject) =>
      c.register(
        { joinToken, hostname, protocolVersion: PROTOCOL_VERSION, agentVersion },
        new Metadata(),
        { deadline: Date.now() + CALL_DEADLINE_MS },
        (error, response) => (error ? reject(error) : resolve(response)),
      ),
    );
  } finally {
    c.close();
  }
}

type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: number },
  callback: (error: ServiceError | null, response: Res) => void,
) => unknown;

export class AgentChannel {
  private readonly client: AgentServiceClient;

  constructor(private readonly identity: AgentIdentity) {
    this.client = client(identity.server);
  }

  private metadata(): Metadata {
    const metadata = new Metadata();
    metadata.set(METADATA.agentId, this.identity.agentId);
    metadata.set(METADATA.protocol, String(PROTOCOL_VERSION));
    metadata.set(METADATA.authorization, `Bearer ${this.identity.credential}`);
    return metadata;
  }

  private call<Req, Res>(method: Unary<Req, Res>, request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) =>
      method.call(
        this.client,
        request,
        this.metadata(),
        { deadline: Date.now() + CALL_DEADLINE_MS },
        (error, response) => (error ? reject(error) : resolve(response)),
      ),
    );
  }

  claim(request: ClaimRequest): Promise<ClaimResponse> {
    return this.call(this.client.claim as Unary<ClaimRequest, ClaimResponse>, request);
  }

  heartbeat(request: HeartbeatRequest): Promise<HeartbeatResponse> {
    return this.call(this.client.heartbeat as Unary<HeartbeatRequest, HeartbeatResponse>, request);
  }

  reportStatus(request: ReportStatusRequest): Promise<unknown> {
    return this.call(this.client.reportStatus as Unary<ReportStatusRequest, unknown>, request);
  }

  appendLog(request: AppendLogRequest): Promise<AppendLogResponse> {
    return this.call(this.client.appendLog as Unary<AppendLogRequest, AppendLogResponse>, request);
  }

  getGitCredentials(request: GetGitCredentialsRequest): Promise<GetGitCredentialsResponse> {
    return this.call(
      this.client.getGitCredentials as Unary<GetGitCredentialsRequest, GetGitCredentialsResponse>,
      request,
    );
  }

  release(request: ReleaseRequest): Promise<unknown> {
    return this.call(this.client.release as Unary<ReleaseRequest, unknown>, request);
  }

  complete(request: CompleteRequest): Promise<unknown> {
    return this.call(this.client.complete as Unary<CompleteRequest, unknown>, request);
  }

  /** Opens the stream of hints; `slots` tells the control plane how much work this agent takes at once. */
  session(slots: number): ClientReadableStream<SessionResponse> {
    return this.client.session({ protocolVersion: PROTOCOL_VERSION, slots }, this.metadata());
  }

  close(): void {
    this.client.close();
  }
}
