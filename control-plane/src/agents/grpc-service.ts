// The server side of the agent channel (proto/slipway/agent/v1/agent.proto): an adapter between
// proto messages and the domain. Each handler authenticates the caller, checks the shape of its
// request, calls the work core (work/work-queue.ts), enrolment or the GitHub module, and turns the
// answer (or the domain error, grpc-errors.ts) back into proto. No SQL and no business rule here.
import { status, type Metadata, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import type { FastifyBaseLogger } from "fastify";
import {
  METADATA,
  LogStream,
  Outcome,
  PROTOCOL_VERSION,
  Verdict,
  WorkKind,
  WorkPhase,
  type AgentServiceServer,
  type ResumeVerdict as ProtoResumeVerdict,
  type SessionResponse,
  type Work,
  type WorkRef,
} from "@slipway/proto";
import type { Db } from "../db/database.js";
import type { WorkReport } from "../work/kind.js";
import type { SessionEvent } from "../work/session-hub.js";
import type { HeldWork, WorkHandle, WorkQueue } from "../work/work-queue.js";
import { cloneCredentials } from "../github/clone-credentials.js";
import type { GitHubApi } from "../github/github-api.js";
import { enrolAgent, renewAgentCertificate, type AuthenticatedAgent } from "./enrolment.js";
import type { CertificateAuthority } from "../pki/certificate-authority.js";
import type { AgentAuthenticator } from "./agent-authenticator.js";
import { RpcError, invalidArgument, permissionDenied, rpcErrorFor, unauthenticated } from "./grpc-errors.js";
import { containersToRemove } from "../deployments/replica-inventory.js";
import { callerAgentId } from "./peer-identity.js";
import { UUID_PATTERN, sanitizeText } from "../patterns.js";
import type { Metrics } from "../metrics/metrics.js";
import type { AgentLogEvent, ContainerLogStreams } from "../deployments/container-log-streams.js";

export interface AgentServiceDeps {
  db: Db;
  work: WorkQueue;
  ca: CertificateAuthority;
  /** How long an agent's certificate is valid. */
  agentCertificateSeconds: number;
  authenticator: AgentAuthenticator;
  metrics: Metrics;
  github: GitHubApi;
  log: FastifyBaseLogger;
  /** Where the container log lines agents send go (absent: every stream is unknown, the agent stops). */
  containerLogs?: ContainerLogStreams;
}

const UUID = new RegExp(UUID_PATTERN);
/** A container log line longer than this (in characters) is cut; the agent cuts at 16 KiB already. */
const MAX_LOG_LINE = 16 * 1024;

// ---- proto ↔ domain names: an enum value WORK_KIND_BUILD is the kind "build", and so on ----------

const wireKind = (name: string): WorkKind =>
  WorkKind[`WORK_KIND_${name.toUpperCase()}` as keyof typeof WorkKind] ?? WorkKind.WORK_KIND_UNSPECIFIED;

function enumName(value: number, names: Record<number, string>, prefix: string): string | undefined {
  const name = names[value];
  return name?.startsWith(prefix) && !name.endsWith("_UNSPECIFIED")
    ? name.slice(prefix.length).toLowerCase()
    : undefined;
}
const kindName = (kind: WorkKind) => enumName(kind, WorkKind, "WORK_KIND_");
const phaseName = (phase: WorkPhase) => enumName(phase, WorkPhase, "WORK_PHASE_");

const OUTCOMES: Partial<Record<Outcome, WorkReport["outcome"]>> = {
  [Outcome.OUTCOME_SUCCEEDED]: "succeeded",
  [Outcome.OUTCOME_FAILED]: "failed",
  [Outcome.OUTCOME_CANCELLED]: "cancelled",
};

function toWork({ kind, row, spec }: HeldWork): Work {
  return {
    ref: { kind: wireKind(kind.name), id: row.id, leaseToken: row.lease_token ?? "", attempt: row.attempt },
    leaseExpiresAt: row.lease_expires_at ?? undefined,
    // Each kind builds the spec message of its own name (builds/build-work.ts, deployments/deploy-work.ts).
    spec: { $case: kind.name, value: spec } as Work["spec"],
  };
}

function toSessionResponse(event: SessionEvent): SessionResponse {
  switch (event.type) {
    case "work-available":
      return { event: { $case: "workAvailable", value: { kind: wireKind(event.kind) } } };
    case "cancel":
      return { event: { $case: "cancel", value: { kind: wireKind(event.kind), id: event.id, reason: event.reason } } };
    case "container-logs": {
      const { type: _type, ...ask } = event;
      return { event: { $case: "containerLogs", value: ask } };
    }
    case "stop-container-logs":
      return { event: { $case: "stopContainerLogs", value: { requestId: event.requestId } } };
  }
}

// ---- request checks ------------------------------------------------------------------------------

function metadataValue(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" ? value : undefined;
}

function protocolRefusal(version: number): RpcError {
  return new RpcError(
    status.FAILED_PRECONDITION,
    `protocol version ${Number.isNaN(version) ? "missing" : version} is not supported; this control plane speaks ${PROTOCOL_VERSION}`,
  );
}

function checkProtocol(metadata: Metadata): void {
  const version = Number(metadataValue(metadata, METADATA.protocol));
  if (version !== PROTOCOL_VERSION) throw protocolRefusal(version);
}

/** A client's key for a request it may retry: null when absent. */
function checkIdempotencyKey(key: string): string | null {
  if (!key) return null;
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(key)) throw invalidArgument("idempotency_key must be 1-128 [A-Za-z0-9_-]");
  return key;
}

export function createAgentService(deps: AgentServiceDeps): AgentServiceServer {
  const { db, work, log } = deps;

  /** A work item as the agent names it, of a kind this control plane runs. */
  function checkRef(ref: WorkRef | undefined): WorkHandle {
    if (!ref) throw invalidArgument("work is required");
    const kind = kindName(ref.kind);
    if (!kind || !work.kinds.some((k) => k.name === kind)) {
      const known = work.kinds.map((k) => WorkKind[wireKind(k.name)]).join(", ");
      throw invalidArgument(`work.kind must be one of ${known}`);
    }
    if (!UUID.test(ref.id)) throw invalidArgument("work.id must be a uuid");
    if (!UUID.test(ref.leaseToken)) throw invalidArgument("work.lease_token must be a uuid");
    return { kind, id: ref.id, leaseToken: ref.leaseToken };
  }

  /** The caller is the agent its client certificate names (peer-identity.ts), still enrolled and not revoked. */
  async function authenticate(
    call: Pick<ServerUnaryCall<unknown, unknown>, "metadata" | "getAuthContext">,
  ): Promise<AuthenticatedAgent> {
    checkProtocol(call.metadata);
    const agentId = callerAgentId(call);
    if (!agentId) throw unauthenticated("a client certificate issued by this control plane is required");
    const agent = await deps.authenticator.authenticate(agentId);
    if (!agent) throw unauthenticated("this agent is revoked or unknown; enrol it again with a new join token");
    return agent;
  }

  function toServiceError(name: string, error: unknown) {
    const answer = rpcErrorFor(error);
    if (answer) return answer;
    log.error({ err: error, rpc: name }, "agent rpc failed");
    return new RpcError(status.INTERNAL, `${name} failed on the control plane; retry`);
  }

  /** Runs an authenticated unary handler and maps its errors onto gRPC status codes. */
  function unary<Req, Res>(
    name: string,
    handler: (request: Req, agent: AuthenticatedAgent) => Promise<Res>,
  ): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
    return (call, callback) => {
      authenticate(call)
        .then((agent) => handler(call.request, agent))
        .then(
          (response) => callback(null, response),
          (error: unknown) => callback(toServiceError(name, error)),
        );
    };
  }

  return {
    register: (call, callback) => {
      const { joinToken, hostname, protocolVersion, csrPem } = call.request;
      if (protocolVersion !== PROTOCOL_VERSION) return callback(protocolRefusal(protocolVersion));
      if (!joinToken) return callback(invalidArgument("join_token is required"));
      if (!csrPem) return callback(invalidArgument("csr_pem is required"));
      enrolAgent(db, deps.ca, {
        joinToken,
        csrPem,
        hostname: hostname || "unknown",
        validitySeconds: deps.agentCertificateSeconds,
      }).then(
        (result) => {
          log.info({ agentId: result.agentId, hostname }, "agent enrolled");
          callback(null, {
            agentId: result.agentId,
            certificatePem: result.certificatePem,
            caCertificatePem: deps.ca.certificatePem,
          });
        },
        (error: unknown) => callback(toServiceError("Register", error)),
      );
    },

    renewCertificate: unary("RenewCertificate", async (request, agent) => {
      if (!request.csrPem) throw invalidArgument("csr_pem is required");
      const certificatePem = await renewAgentCertificate(
        db,
        deps.ca,
        agent.id,
        request.csrPem,
        deps.agentCertificateSeconds,
      );
      log.info({ agentId: agent.id }, "agent certificate renewed");
      return { certificatePem };
    }),

    session: (call) => {
      authenticate(call).then(
        (agent) => {
          work.sessions.attach(agent, call.request.slots, {
            write: (event) => call.write(toSessionResponse(event)),
            end: () => call.end(),
            on: (event, listener) => call.on(event, listener),
          });
          // Tell the agent to look once now, in case work arrived while it was away.
          for (const kind of work.kindsFor(agent)) {
            call.write(toSessionResponse({ type: "work-available", kind: kind.name }));
          }
        },
        (error: unknown) => call.destroy(toServiceError("Session", error)),
      );
    },

    claim: unary("Claim", async (request, agent) => {
      const stopTimer = deps.metrics.claimSeconds.startTimer();
      const key = checkIdempotencyKey(request.idempotencyKey);
      const kinds = request.kinds.map(kindName).filter((name): name is string => name !== undefined);
      const held = await work.claim(agent, kinds, key);
      stopTimer({ result: held ? "work" : "none" });
      if (!held) return { work: undefined };
      if (!held.again) {
        // Every claim and ending is in the work's status history; the log repeats them at debug.
        log.debug(
          { kind: held.kind.name, workId: held.row.id, agentId: agent.id, attempt: held.row.attempt },
          "work claimed",
        );
        if (held.row.attempt === 1) {
          deps.metrics.dispatchSeconds.observe((Date.now() - held.row.created_at.getTime()) / 1000);
        }
      }
      return { work: toWork(held) };
    }),

    heartbeat: unary("Heartbeat", async (request, agent) => {
      const verdicts = await work.renew(agent.id, request.held.map(checkRef));
      return {
        verdicts: request.held.map((ref, index) => {
          const renewed = verdicts[index];
          if (!renewed || renewed.verdict === "lost") {
            return { work: ref, verdict: Verdict.VERDICT_LOST, reason: "the lease is no longer held by this agent" };
          }
          return renewed.verdict === "cancel"
            ? {
                work: ref,
                verdict: Verdict.VERDICT_CANCEL,
                reason: "cancelled by a user",
                leaseExpiresAt: renewed.leaseExpiresAt,
              }
            : { work: ref, verdict: Verdict.VERDICT_CONTINUE, reason: "", leaseExpiresAt: renewed.leaseExpiresAt };
        }),
      };
    }),

    reportStatus: unary("ReportStatus", async (request, agent) => {
      const ref = checkRef(request.work);
      const phase = phaseName(request.phase);
      if (!phase) throw invalidArgument(`phase ${request.phase} is not a phase of the agent channel`);
      await work.advance(ref.kind, { ...ref, agentId: agent.id }, phase);
      return {};
    }),

    appendLog: unary("AppendLog", async (request, agent) => {
      const ref = checkRef(request.work);
      if (!Number.isInteger(request.seq) || request.seq < 1) throw invalidArgument("seq must be 1 or more");
      const stored = await work.appendLog(ref.kind, { ...ref, agentId: agent.id }, request.seq, request.data);
      if (stored) deps.metrics.logBytes.inc(request.data.length);
      return { ackedSeq: request.seq };
    }),

    complete: unary("Complete", async (request, agent) => {
      const ref = checkRef(request.work);
      const outcome = OUTCOMES[request.outcome];
      if (!outcome) throw invalidArgument("outcome must be SUCCEEDED, FAILED or CANCELLED");
      const row = await work.finish(
        ref.kind,
        { ...ref, agentId: agent.id },
        {
          outcome,
          result: request.result?.$case === ref.kind ? request.result.value : undefined,
          error: sanitizeText(request.error, 2000) || "no reason given",
        },
      );
      log.debug({ kind: ref.kind, workId: row.id, status: row.status }, "work finished");
      return {};
    }),

    reportContainers: unary("ReportContainers", async (request, agent) => {
      if (!agent.capabilities.includes("deploy"))
        throw permissionDenied("only an agent that deploys reports containers");
      if (request.containers.length > 10_000) throw invalidArgument("at most 10000 containers per report");
      const containers = request.containers.map((c) => {
        if (!c.containerId || c.containerId.length > 128 || !UUID.test(c.deploymentId))
          throw invalidArgument("each container needs its id and the deployment id it was started for");
        return { containerId: c.containerId, deploymentId: c.deploymentId, replicaIndex: c.replicaIndex };
      });
      return { removeContainerIds: await containersToRemove(db, agent.id, containers) };
    }),

    release: unary("Release", async (request, agent) => {
      const ref = checkRef(request.work);
      const reason = sanitizeText(request.reason, 500) || "released by the agent";
      await work.release(ref.kind, { ...ref, agentId: agent.id }, reason);
      return {};
    }),

    resume: unary("Resume", async (request, agent) => {
      const key = checkIdempotencyKey(request.idempotencyKey);
      if (!key) throw invalidArgument("idempotency_key is required");
      const verdicts = await work.resume(agent.id, request.held.map(checkRef), key);
      return {
        verdicts: verdicts.map((verdict, index): ProtoResumeVerdict => {
          const named = request.held[index];
          switch (verdict.verdict) {
            case "continue":
              log.info({ workId: verdict.work.row.id, agentId: agent.id }, "work resumed after its agent restarted");
              return {
                work: named,
                verdict: Verdict.VERDICT_CONTINUE,
                reason: "still held: run the attempt again from the start",
                resumed: toWork(verdict.work),
                nextLogSeq: verdict.nextLogSeq,
              };
            case "cancel":
              return { work: named, verdict: Verdict.VERDICT_CANCEL, reason: "cancelled by a user", nextLogSeq: 0 };
            case "lost":
              return { work: named, verdict: Verdict.VERDICT_LOST, reason: verdict.reason, nextLogSeq: 0 };
          }
        }),
      };
    }),

    sendContainerLogs: unary("SendContainerLogs", async (request, agent) => {
      if (!UUID.test(request.requestId)) throw invalidArgument("request_id must be a uuid");
      let event: AgentLogEvent;
      if (request.event?.$case === "chunk") {
        const lines = request.event.value.lines;
        if (lines.length > 10_000) throw invalidArgument("at most 10000 lines per chunk");
        event = {
          type: "lines",
          lines: lines.map((l) => ({
            stream: l.stream === LogStream.LOG_STREAM_STDERR ? "stderr" : "stdout",
            line: l.line.length > MAX_LOG_LINE ? l.line.slice(0, MAX_LOG_LINE) : l.line,
            time: l.time ? l.time.toISOString() : null,
            ...(l.truncated || l.line.length > MAX_LOG_LINE ? { truncated: true } : {}),
          })),
        };
      } else if (request.event?.$case === "end") {
        event = { type: "end", error: sanitizeText(request.event.value.error, 2000) };
      } else throw invalidArgument("a chunk or an end is required");
      return deps.containerLogs ? deps.containerLogs.deliver(agent.id, request.requestId, event) : { stop: true };
    }),

    getGitCredentials: unary("GetGitCredentials", async (request, agent) => {
      const ref = checkRef(request.work);
      const credentials = await cloneCredentials(db, deps.github, { ...ref, agentId: agent.id, orgId: agent.orgId });
      if (!credentials) return { username: "", password: "", expiresAt: undefined };
      log.info({ buildId: ref.id, repository: credentials.repository }, "clone token minted");
      return { username: credentials.username, password: credentials.password, expiresAt: credentials.expiresAt };
    }),
  };
}
