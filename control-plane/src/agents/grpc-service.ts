// The server side of the agent channel (proto/slipway/agent/v1/agent.proto). Each handler
// authenticates the caller, validates its input, and delegates to the repositories; every write
// names a lease, and a stale lease comes back as FAILED_PRECONDITION.
import { status, type Metadata, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import type { FastifyBaseLogger } from "fastify";
import {
  AGENT_CERTIFICATE_URI_PREFIX,
  METADATA,
  Outcome,
  PROTOCOL_VERSION,
  Verdict,
  WorkKind,
  WorkPhase,
  type AgentServiceServer,
  type ClaimRequest,
  type ClaimResponse,
  type LeaseVerdict,
  type ResumeVerdict,
  type Work,
  type WorkRef,
} from "@slipway/proto";
import type { Db } from "../db/database.js";
import type { Build, DeployWorkItem } from "../db/schema.js";
import {
  LeaseLostError,
  advanceBuild,
  cancelRequested,
  claimNextBuild,
  releaseBuild,
  findClaimedBuild,
  finishBuild,
  renewBuildLeases,
  resumeBuild,
  type BuildOutcome,
} from "../builds/build-repository.js";
import { appendLogChunk, MAX_LOG_CHUNK_BYTES } from "../builds/build-logs.js";
import { leaseKey, type ResumeDecision } from "../leases/leases.js";
import { imageRefFor } from "../builds/image-ref.js";
import {
  advanceDeployItem,
  claimNextDeployItem,
  findClaimedDeployItem,
  createDeployment,
  finishDeployItem,
  hasNewerDeployment,
  renewDeployLeases,
  resumeDeployItem,
  type DeployItemOutcome,
} from "../deployments/deployment-repository.js";
import { enrolAgent, EnrolmentError, renewAgentCertificate, type AuthenticatedAgent } from "./enrolment.js";
import { CertificateRequestError, type CertificateAuthority } from "../pki/certificate-authority.js";
import type { AgentAuthenticator } from "./agent-authenticator.js";
import { RpcError, invalidArgument, unauthenticated } from "./grpc-errors.js";
import { UUID_PATTERN, sanitizeText } from "../http/patterns.js";
import type { SessionHub } from "./session-hub.js";
import type { GitHubApi } from "../github/github-api.js";
import { REPOSITORY_STATE_COLUMNS, repositoryProblem } from "../github/repository-state.js";
import { BUILD_LEASES, holdsLease } from "../leases/leases.js";
import { notifyWorkAvailable } from "./work-notifier.js";
import type { Metrics } from "../metrics/metrics.js";

export interface AgentServiceDeps {
  db: Db;
  ca: CertificateAuthority;
  /** How long an agent's certificate is valid. */
  agentCertificateSeconds: number;
  authenticator: AgentAuthenticator;
  metrics: Metrics;
  github: GitHubApi;
  hub: SessionHub;
  log: FastifyBaseLogger;
  leaseSeconds: number;
  registryHost: string;
}

const UUID = new RegExp(UUID_PATTERN);
const DIGEST = /^sha256:[0-9a-f]{64}$/;

function metadataValue(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" ? value : undefined;
}

/** The agent id in a certificate's `URI:urn:slipway:agent:<id>` subject alternative name. */
function agentIdFromCertificate(subjectAltName: string | undefined): string | undefined {
  for (const name of subjectAltName?.split(", ") ?? []) {
    const uri = name.startsWith("URI:") ? name.slice("URI:".length) : "";
    if (uri.startsWith(AGENT_CERTIFICATE_URI_PREFIX)) return uri.slice(AGENT_CERTIFICATE_URI_PREFIX.length);
  }
  return undefined;
}

function checkProtocol(metadata: Metadata): void {
  const version = Number(metadataValue(metadata, METADATA.protocol));
  if (version !== PROTOCOL_VERSION) {
    throw new RpcError(
      status.FAILED_PRECONDITION,
      `protocol version ${Number.isNaN(version) ? "missing" : version} is not supported; this control plane speaks ${PROTOCOL_VERSION}`,
    );
  }
}

/** A client's key for a request it may retry: null when absent. */
function checkIdempotencyKey(key: string): string | null {
  if (!key) return null;
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(key)) throw invalidArgument("idempotency_key must be 1-128 [A-Za-z0-9_-]");
  return key;
}

/** More than any agent's slots could hold: a longer list is not a restarted agent's. */
const MAX_RESUMED_ITEMS = 256;

function checkRef(ref: WorkRef | undefined): { kind: WorkKind; id: string; leaseToken: string } {
  if (!ref) throw invalidArgument("work is required");
  if (ref.kind !== WorkKind.WORK_KIND_BUILD && ref.kind !== WorkKind.WORK_KIND_DEPLOY) {
    throw invalidArgument("work.kind must be BUILD or DEPLOY");
  }
  if (!UUID.test(ref.id)) throw invalidArgument("work.id must be a uuid");
  if (!UUID.test(ref.leaseToken)) throw invalidArgument("work.lease_token must be a uuid");
  return { kind: ref.kind, id: ref.id, leaseToken: ref.leaseToken };
}

export function createAgentService(deps: AgentServiceDeps): AgentServiceServer {
  const { db, hub, log, leaseSeconds } = deps;

  /**
   * The caller is the agent its client certificate names. TLS has verified the certificate against
   * the CA (and its validity period); a call without one, or with one the CA did not issue, has no
   * peer certificate here. The agent must also still exist unrevoked.
   */
  async function authenticate(
    call: Pick<ServerUnaryCall<unknown, unknown>, "metadata" | "getAuthContext">,
  ): Promise<AuthenticatedAgent> {
    checkProtocol(call.metadata);
    const agentId = agentIdFromCertificate(call.getAuthContext().sslPeerCertificate?.subjectaltname);
    if (!agentId) throw unauthenticated("a client certificate issued by this control plane is required");
    const agent = await deps.authenticator.authenticate(agentId);
    if (!agent) throw unauthenticated("this agent is revoked or unknown; enrol it again with a new join token");
    return agent;
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

  function toServiceError(name: string, error: unknown) {
    if (error instanceof RpcError) return error;
    if (error instanceof LeaseLostError) return new RpcError(status.FAILED_PRECONDITION, error.message);
    if (error instanceof EnrolmentError) return unauthenticated(error.message);
    if (error instanceof CertificateRequestError) return invalidArgument(error.message);
    log.error({ err: error, rpc: name }, "agent rpc failed");
    return new RpcError(status.INTERNAL, `${name} failed on the control plane; retry`);
  }

  async function workForBuild(build: Build): Promise<Work> {
    const service = await db
      .selectFrom("services")
      .select(["project_id", "git_url", "root_dir"])
      .where("id", "=", build.service_id)
      .executeTakeFirstOrThrow();
    return {
      ref: {
        kind: WorkKind.WORK_KIND_BUILD,
        id: build.id,
        leaseToken: build.lease_token ?? "",
        attempt: build.attempt,
      },
      leaseExpiresAt: build.lease_expires_at ?? undefined,
      spec: {
        $case: "build",
        value: {
          projectId: service.project_id,
          serviceId: build.service_id,
          gitUrl: service.git_url,
          commitSha: build.commit_sha,
          branch: build.branch,
          rootDir: service.root_dir,
          imageRef: imageRefFor(deps.registryHost, {
            projectId: service.project_id,
            serviceId: build.service_id,
            commitSha: build.commit_sha,
          }),
        },
      },
    };
  }

  async function workForDeployItem(item: DeployWorkItem): Promise<Work> {
    const target = await db
      .selectFrom("deployments")
      .innerJoin("services", "services.id", "deployments.service_id")
      .select(["deployments.image_ref", "services.id as service_id", "services.project_id", "services.container_port"])
      .where("deployments.id", "=", item.deployment_id)
      .executeTakeFirstOrThrow();
    return {
      ref: { kind: WorkKind.WORK_KIND_DEPLOY, id: item.id, leaseToken: item.lease_token ?? "", attempt: item.attempt },
      leaseExpiresAt: item.lease_expires_at ?? undefined,
      spec: {
        $case: "deploy",
        value: {
          projectId: target.project_id,
          serviceId: target.service_id,
          deploymentId: item.deployment_id,
          replicaIndex: item.replica_index,
          imageRef: target.image_ref,
          containerPort: target.container_port,
          env: { PORT: String(target.container_port) },
        },
      },
    };
  }

  /** Decides what a restarted agent does with one item it held, and the work to run if it goes on. */
  async function resumeOne(
    isBuild: boolean,
    lease: { id: string; leaseToken: string; agentId: string },
    key: string,
  ): Promise<{ decision: ResumeDecision<unknown>; work?: Work }> {
    // Each item commits on its own; a retry with the same key finds those already resumed.
    if (isBuild) {
      const decision = await db.transaction().execute((trx) => resumeBuild(trx, lease, leaseSeconds, key));
      return { decision, work: decision.verdict === "continue" ? await workForBuild(decision.row) : undefined };
    }
    const decision = await db.transaction().execute((trx) => resumeDeployItem(trx, lease, leaseSeconds, key));
    return { decision, work: decision.verdict === "continue" ? await workForDeployItem(decision.row) : undefined };
  }

  /** Assigns at most one work item: builds first, then deploy items, within the agent's capabilities. */
  async function claimWork(request: ClaimRequest, agent: AuthenticatedAgent): Promise<ClaimResponse> {
    if (agent.drained) return { work: undefined };
    const key = checkIdempotencyKey(request.idempotencyKey);
    const wanted = new Set(request.kinds);
    const builds = wanted.has(WorkKind.WORK_KIND_BUILD) && agent.capabilities.includes("build");
    const deploys = wanted.has(WorkKind.WORK_KIND_DEPLOY) && agent.capabilities.includes("deploy");
    if (key !== null) {
      // A retried claim (its reply was lost) may have been answered with any kind it asked for: the
      // same work again, not a second item.
      const earlierBuild = builds ? await findClaimedBuild(db, agent.id, key) : undefined;
      if (earlierBuild) return { work: await workForBuild(earlierBuild) };
      const earlierItem = deploys ? await findClaimedDeployItem(db, agent.id, key) : undefined;
      if (earlierItem) return { work: await workForDeployItem(earlierItem) };
    }
    if (builds) {
      const build = await claimNextBuild(db, agent.id, leaseSeconds, key);
      if (build) {
        log.info({ buildId: build.id, agentId: agent.id, attempt: build.attempt }, "build claimed");
        if (build.attempt === 1) deps.metrics.dispatchSeconds.observe((Date.now() - build.created_at.getTime()) / 1000);
        return { work: await workForBuild(build) };
      }
    }
    if (deploys) {
      const item = await claimNextDeployItem(db, agent.id, leaseSeconds, key);
      if (item) {
        log.info({ deployItemId: item.id, agentId: agent.id }, "deploy item claimed");
        return { work: await workForDeployItem(item) };
      }
    }
    return { work: undefined };
  }

  return {
    register: (call, callback) => {
      const { joinToken, hostname, protocolVersion, csrPem } = call.request;
      if (protocolVersion !== PROTOCOL_VERSION) {
        callback(
          new RpcError(
            status.FAILED_PRECONDITION,
            `protocol version ${protocolVersion} is not supported; this control plane speaks ${PROTOCOL_VERSION}`,
          ),
        );
        return;
      }
      if (!joinToken) {
        callback(invalidArgument("join_token is required"));
        return;
      }
      if (!csrPem) {
        callback(invalidArgument("csr_pem is required"));
        return;
      }
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
          hub.attach(agent, call.request.slots, call);
          // Tell the agent to look once now, in case work arrived while it was away.
          for (const kind of ["build", "deploy"] as const) {
            if (agent.capabilities.includes(kind)) {
              call.write({
                event: {
                  $case: "workAvailable",
                  value: { kind: kind === "build" ? WorkKind.WORK_KIND_BUILD : WorkKind.WORK_KIND_DEPLOY },
                },
              });
            }
          }
        },
        (error: unknown) => call.destroy(toServiceError("Session", error)),
      );
    },

    claim: unary("Claim", async (request, agent) => {
      const stopTimer = deps.metrics.claimSeconds.startTimer();
      const reply = await claimWork(request, agent);
      stopTimer({ result: reply.work ? "work" : "none" });
      if (reply.work) hub.claimed(agent.id);
      return reply;
    }),

    heartbeat: unary("Heartbeat", async (request, agent) => {
      const refs = request.held.map(checkRef);
      hub.holding(agent.id, refs.length);
      const builds = refs.filter((r) => r.kind === WorkKind.WORK_KIND_BUILD);
      const items = refs.filter((r) => r.kind === WorkKind.WORK_KIND_DEPLOY);
      const renewed = new Map([
        ...(await renewBuildLeases(db, agent.id, builds, leaseSeconds)),
        ...(await renewDeployLeases(db, agent.id, items, leaseSeconds)),
      ]);
      const cancelled = await cancelRequested(
        db,
        builds.map((b) => b.id),
      );
      const verdicts: LeaseVerdict[] = request.held.map((ref) => {
        const expires = renewed.get(leaseKey(ref.id, ref.leaseToken));
        if (!expires)
          return { work: ref, verdict: Verdict.VERDICT_LOST, reason: "the lease is no longer held by this agent" };
        if (cancelled.has(ref.id)) {
          return { work: ref, verdict: Verdict.VERDICT_CANCEL, reason: "cancelled by a user", leaseExpiresAt: expires };
        }
        return { work: ref, verdict: Verdict.VERDICT_CONTINUE, reason: "", leaseExpiresAt: expires };
      });
      return { verdicts };
    }),

    reportStatus: unary("ReportStatus", async (request, agent) => {
      const ref = checkRef(request.work);
      if (ref.kind === WorkKind.WORK_KIND_BUILD) {
        const phase = (
          {
            [WorkPhase.WORK_PHASE_CLONING]: "cloning",
            [WorkPhase.WORK_PHASE_BUILDING]: "building",
            [WorkPhase.WORK_PHASE_PUSHING]: "pushing",
          } as const
        )[request.phase as number];
        if (!phase) throw invalidArgument("a build's phase must be CLONING, BUILDING or PUSHING");
        await advanceBuild(db, { id: ref.id, leaseToken: ref.leaseToken, agentId: agent.id, phase });
      } else {
        const phase = (
          { [WorkPhase.WORK_PHASE_PULLING]: "pulling", [WorkPhase.WORK_PHASE_STARTING]: "starting" } as const
        )[request.phase as number];
        if (!phase) throw invalidArgument("a deploy item's phase must be PULLING or STARTING");
        await advanceDeployItem(db, { id: ref.id, leaseToken: ref.leaseToken, agentId: agent.id, phase });
      }
      return {};
    }),

    appendLog: unary("AppendLog", async (request, agent) => {
      const ref = checkRef(request.work);
      if (ref.kind !== WorkKind.WORK_KIND_BUILD) throw invalidArgument("logs are kept for builds only");
      if (!Number.isInteger(request.seq) || request.seq < 1) throw invalidArgument("seq must be 1 or more");
      if (request.data.length > MAX_LOG_CHUNK_BYTES) {
        throw invalidArgument(`a log chunk may hold at most ${MAX_LOG_CHUNK_BYTES} bytes`);
      }
      const stored = await appendLogChunk(db, {
        buildId: ref.id,
        leaseToken: ref.leaseToken,
        agentId: agent.id,
        seq: request.seq,
        data: request.data,
      });
      if (stored) deps.metrics.logBytes.inc(request.data.length);
      return { ackedSeq: request.seq };
    }),

    complete: unary("Complete", async (request, agent) => {
      const ref = checkRef(request.work);
      const error = sanitizeText(request.error, 2000) || "no reason given";
      if (ref.kind === WorkKind.WORK_KIND_BUILD) {
        let outcome: BuildOutcome;
        if (request.outcome === Outcome.OUTCOME_SUCCEEDED) {
          const digest = request.result?.$case === "build" ? request.result.value.imageDigest : "";
          if (!DIGEST.test(digest)) throw invalidArgument("a completed build needs its image digest (sha256:…)");
          outcome = { status: "completed", imageRef: "", imageDigest: digest };
        } else if (request.outcome === Outcome.OUTCOME_FAILED) outcome = { status: "failed", reason: error };
        else if (request.outcome === Outcome.OUTCOME_CANCELLED) outcome = { status: "cancelled", reason: error };
        else throw invalidArgument("outcome must be SUCCEEDED, FAILED or CANCELLED");
        await completeBuild({ ...ref, agentId: agent.id }, outcome);
      } else {
        let outcome: DeployItemOutcome;
        if (request.outcome === Outcome.OUTCOME_SUCCEEDED) {
          const result = request.result?.$case === "deploy" ? request.result.value : undefined;
          if (!result?.containerId || !result.host || !result.port || result.port > 65535) {
            throw invalidArgument("a running replica needs its container id, host and port");
          }
          outcome = { status: "running", containerId: result.containerId, host: result.host, port: result.port };
        } else if (request.outcome === Outcome.OUTCOME_FAILED) outcome = { status: "failed", reason: error };
        else if (request.outcome === Outcome.OUTCOME_CANCELLED) outcome = { status: "cancelled", reason: error };
        else throw invalidArgument("outcome must be SUCCEEDED, FAILED or CANCELLED");
        await db
          .transaction()
          .execute((trx) =>
            finishDeployItem(trx, { id: ref.id, leaseToken: ref.leaseToken, agentId: agent.id, outcome }),
          );
      }
      hub.finished(agent.id);
      return {};
    }),

    release: unary("Release", async (request, agent) => {
      const ref = checkRef(request.work);
      const reason = sanitizeText(request.reason, 500) || "released by the agent";
      if (ref.kind === WorkKind.WORK_KIND_BUILD) {
        await releaseBuild(db, { ...ref, agentId: agent.id, reason });
        await notifyWorkAvailable(db, "build");
      } else {
        // A replica may or may not be running: like an expired lease, it is left for reconciliation.
        await db
          .transaction()
          .execute((trx) => finishDeployItem(trx, { ...ref, agentId: agent.id, outcome: { status: "lost", reason } }));
      }
      hub.finished(agent.id);
      return {};
    }),

    resume: unary("Resume", async (request, agent) => {
      if (request.held.length > MAX_RESUMED_ITEMS) {
        throw invalidArgument(`at most ${MAX_RESUMED_ITEMS} held items can be named at once`);
      }
      const key = checkIdempotencyKey(request.idempotencyKey);
      if (!key) throw invalidArgument("idempotency_key is required");
      const refs = request.held.map(checkRef);
      const verdicts: ResumeVerdict[] = [];
      const answered = new Set<string>();
      for (const [index, ref] of refs.entries()) {
        const named = request.held[index] as WorkRef;
        // An item named twice must not run twice: only its first naming can go on.
        if (answered.has(ref.id)) {
          verdicts.push({ work: named, verdict: Verdict.VERDICT_LOST, reason: "named twice", nextLogSeq: 0 });
          continue;
        }
        answered.add(ref.id);
        const lease = { id: ref.id, leaseToken: ref.leaseToken, agentId: agent.id };
        const isBuild = ref.kind === WorkKind.WORK_KIND_BUILD;
        const { decision, work } = await resumeOne(isBuild, lease, key);
        if (decision.verdict === "continue") {
          hub.claimed(agent.id);
          log.info({ workId: ref.id, agentId: agent.id }, "work resumed after its agent restarted");
          verdicts.push({
            work: named,
            verdict: Verdict.VERDICT_CONTINUE,
            reason: "still held: run the attempt again from the start",
            resumed: work,
            nextLogSeq: decision.nextLogSeq,
          });
        } else if (decision.verdict === "cancel") {
          verdicts.push({ work: named, verdict: Verdict.VERDICT_CANCEL, reason: "cancelled by a user", nextLogSeq: 0 });
        } else {
          if (decision.gaveBack && isBuild) await notifyWorkAvailable(db, "build");
          verdicts.push({ work: named, verdict: Verdict.VERDICT_LOST, reason: decision.reason, nextLogSeq: 0 });
        }
      }
      return { verdicts };
    }),

    getGitCredentials: unary("GetGitCredentials", async (request, agent) => {
      const ref = checkRef(request.work);
      if (ref.kind !== WorkKind.WORK_KIND_BUILD) throw invalidArgument("credentials are handed out for builds only");
      if (!(await holdsLease(db, BUILD_LEASES, { ...ref, agentId: agent.id }))) throw new LeaseLostError(ref.id);
      const repo = await db
        .selectFrom("builds")
        .innerJoin("services", "services.id", "builds.service_id")
        .innerJoin("projects", "projects.id", "services.project_id")
        .innerJoin("github_repos", "github_repos.id", "services.github_repo_id")
        .leftJoin("github_installations", "github_installations.id", "github_repos.installation_id")
        .select([
          "projects.org_id as service_org",
          "github_installations.org_id as installation_org",
          "services.git_url",
          "github_repos.clone_url",
          "github_repos.id as repository_id",
          ...REPOSITORY_STATE_COLUMNS,
        ])
        .where("builds.id", "=", ref.id)
        .executeTakeFirst();
      // A token only for the organisation that installed the app, and only to its own clone URL.
      const entitled =
        repo !== undefined &&
        repo.installation_id !== null &&
        repo.installation_org === repo.service_org &&
        repo.service_org === agent.orgId &&
        (repo.clone_url === null || repo.clone_url === repo.git_url);
      if (!repo || !entitled) return { username: "", password: "", expiresAt: undefined };
      const problem = repositoryProblem(repo);
      if (problem) throw new RpcError(status.PERMISSION_DENIED, problem);
      const token = await deps.github.mintCloneToken(Number(repo.installation_id), Number(repo.repository_id));
      log.info({ buildId: ref.id, repository: repo.full_name }, "clone token minted");
      return { username: "x-access-token", password: token.token, expiresAt: new Date(token.expiresAt) };
    }),
  };

  /** Ends a build; a completed build of an auto-deploying service is deployed in the same transaction. */
  async function completeBuild(ref: { id: string; leaseToken: string; agentId: string }, outcome: BuildOutcome) {
    await db.transaction().execute(async (trx) => {
      const target = await trx
        .selectFrom("builds")
        .innerJoin("services", "services.id", "builds.service_id")
        .select([
          "services.id as service_id",
          "services.project_id",
          "services.replicas",
          "services.auto_deploy",
          "builds.commit_sha",
        ])
        .where("builds.id", "=", ref.id)
        .executeTakeFirst();
      if (!target) throw new LeaseLostError(ref.id);
      const imageRef = imageRefFor(deps.registryHost, {
        projectId: target.project_id,
        serviceId: target.service_id,
        commitSha: target.commit_sha,
      });
      const final = outcome.status === "completed" ? { ...outcome, imageRef } : outcome;
      const build = await finishBuild(trx, { ...ref, outcome: final });
      log.info({ buildId: build.id, status: build.status }, "build finished");
      // Builds can finish out of order: never roll a service back to an older push.
      const overtaken = build.status === "completed" && (await hasNewerDeployment(trx, target.service_id, build.id));
      if (overtaken) log.info({ buildId: build.id }, "not deployed: a newer build of the service is already deployed");
      if (build.status === "completed" && target.auto_deploy && !overtaken) {
        await createDeployment(trx, {
          serviceId: target.service_id,
          buildId: build.id,
          imageRef,
          replicas: target.replicas,
          createdBy: `build:${build.id}`,
        });
        await notifyWorkAvailable(trx, "deploy");
      }
    });
  }
}
