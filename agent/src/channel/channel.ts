// The client side of the agent channel (proto/slipway/agent/v1/agent.proto): promise-returning
// calls that carry the agent's identity, and the session stream of hints.
import { credentials, Metadata, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import {
  AgentServiceClient,
  CONTROL_PLANE_TLS_NAME,
  METADATA,
  PROTOCOL_VERSION,
  type AppendLogRequest,
  type AppendLogResponse,
  type ClaimRequest,
  type ClaimResponse,
  type CompleteRequest,
  type GetGitCredentialsRequest,
  type ReleaseRequest,
  type ResumeRequest,
  type ResumeResponse,
  type ReportContainersRequest,
  type ReportContainersResponse,
  type GetGitCredentialsResponse,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type RegisterRequest,
  type RegisterResponse,
  type RenewCertificateResponse,
  type ReportStatusRequest,
  type SendContainerLogsRequest,
  type SendContainerLogsResponse,
  type SessionResponse,
} from "@slipway/proto";
import type { AgentIdentity } from "./identity-store.js";

/**
 * Pings every 20 s, calls or not, keep NAT and firewall state alive and notice within 30 s a link that
 * dropped silently. 20 s stays above the 10 s floor many gRPC proxies enforce against ping floods.
 */
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

/**
 * A client for the control plane at `server`, trusting only its CA and checking the name every
 * control plane's certificate carries. With a key and certificate, every call is mutual TLS.
 */
export function agentServiceClient(
  server: string,
  tls: { caCertificatePem: string; privateKeyPem?: string; certificatePem?: string },
) {
  const channelCredentials = credentials.createSsl(
    Buffer.from(tls.caCertificatePem),
    tls.privateKeyPem ? Buffer.from(tls.privateKeyPem) : null,
    tls.certificatePem ? Buffer.from(tls.certificatePem) : null,
  );
  return new AgentServiceClient(server, channelCredentials, {
    ...CLIENT_OPTIONS,
    "grpc.ssl_target_name_override": CONTROL_PLANE_TLS_NAME,
    "grpc.default_authority": CONTROL_PLANE_TLS_NAME,
  });
}

/** Spends a join token on a certificate (no client certificate yet; the CA was pinned beforehand). */
export async function register(
  server: string,
  caCertificatePem: string,
  request: Omit<RegisterRequest, "protocolVersion">,
): Promise<RegisterResponse> {
  const c = agentServiceClient(server, { caCertificatePem });
  try {
    return await new Promise<RegisterResponse>((resolve, reject) =>
      c.register(
        { ...request, protocolVersion: PROTOCOL_VERSION },
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
  private client: AgentServiceClient;
  /** Clients replaced by useIdentity(), each closed by its timer once its calls are done. */
  private readonly retired = new Map<NodeJS.Timeout, AgentServiceClient>();

  constructor(identity: AgentIdentity) {
    this.client = agentServiceClient(identity.server, identity);
  }

  /**
   * Calls from now on present the new certificate. The old client stays open long enough for calls
   * already under way to finish; closing it then ends the session stream, which reconnects.
   */
  useIdentity(identity: AgentIdentity): void {
    const old = this.client;
    this.client = agentServiceClient(identity.server, identity);
    const timer = setTimeout(() => {
      this.retired.delete(timer);
      old.close();
    }, CALL_DEADLINE_MS + 1_000);
    this.retired.set(timer, old);
  }

  private metadata(): Metadata {
    const metadata = new Metadata();
    metadata.set(METADATA.protocol, String(PROTOCOL_VERSION));
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

  resume(request: ResumeRequest): Promise<ResumeResponse> {
    return this.call(this.client.resume as Unary<ResumeRequest, ResumeResponse>, request);
  }

  reportContainers(request: ReportContainersRequest): Promise<ReportContainersResponse> {
    return this.call(this.client.reportContainers as Unary<ReportContainersRequest, ReportContainersResponse>, request);
  }

  sendContainerLogs(request: SendContainerLogsRequest): Promise<SendContainerLogsResponse> {
    return this.call(
      this.client.sendContainerLogs as Unary<SendContainerLogsRequest, SendContainerLogsResponse>,
      request,
    );
  }

  renewCertificate(csrPem: string): Promise<RenewCertificateResponse> {
    return this.call(this.client.renewCertificate as Unary<{ csrPem: string }, RenewCertificateResponse>, { csrPem });
  }

  complete(request: CompleteRequest): Promise<unknown> {
    return this.call(this.client.complete as Unary<CompleteRequest, unknown>, request);
  }

  /** Opens the stream of hints; `slots` tells the control plane how much work this agent takes at once. */
  session(slots: number): ClientReadableStream<SessionResponse> {
    return this.client.session({ protocolVersion: PROTOCOL_VERSION, slots }, this.metadata());
  }

  close(): void {
    for (const [timer, old] of this.retired) {
      clearTimeout(timer);
      old.close();
    }
    this.retired.clear();
    this.client.close();
  }
}
