// What users do to a running service, decided here and carried out as deployments: deploy the
// branch head or an earlier build (rollback), restart, stop, start, scale. Each operation decides
// and creates its deployment in one transaction under the service's deployment lock, so concurrent
// requests are ordered: each gets its own sequence number, and the newest wins. Every operation
// records its actor and reason and lands in the audit log; a refused one changes nothing.
import { sql, type Transaction } from "kysely";
import type { Db } from "../db/database.js";
import type { Build, Database, Deployment, DeploymentTrigger, Service } from "../db/schema.js";
import type { Actor } from "../auth/bootstrap-auth.js";
import { audit } from "../audit/audit-log.js";
import { conflict, notFound, unavailable, unprocessable } from "../errors.js";
import { buildableService, queueManualBuild } from "../builds/build-service.js";
import { isTerminalBuildStatus } from "../builds/build-status.js";
import { resolveBranchHead } from "../builds/branch-head.js";
import { imageByDigest } from "../builds/image-ref.js";
import { getService } from "../projects/project-repository.js";
import { requestDeployOnCompletion } from "./auto-deploy.js";
import {
  createDeployment,
  lastServingDeployment,
  latestWantedDeployment,
  lockServiceDeployments,
} from "./deployment-repository.js";

/** How often the Deploy button looks again when builds of the head appear while it decides. */
const HEAD_ATTEMPTS = 5;

export interface DeployRequest {
  /** An earlier completed build of the service; without it, the branch head. */
  buildId?: string | undefined;
  reason?: string | undefined;
}

/** A deploy either created its deployment, or queued (or picked up) the build it waits for. */
export type DeployOutcome = { deployment: Deployment; build?: never } | { build: Build; deployment?: never };

/**
 * The Deploy button. With `buildId`: deploys that completed build of the service by its digest
 * (a rollback when it is older than the serving build). Without: deploys the newest completed build
 * of the branch head, or has the head's build deploy when it completes (queued now when there is
 * none on its way). A stopped service is started by it.
 */
export async function deployService(
  db: Db,
  actor: Actor,
  serviceId: string,
  request: DeployRequest,
): Promise<DeployOutcome> {
  const reason = request.reason ?? null;
  if (request.buildId !== undefined) {
    const buildId = request.buildId;
    await getService(db, actor.orgId, serviceId);
    return db.transaction().execute(async (trx) => {
      await lockServiceDeployments(trx, serviceId);
      const build = await trx
        .selectFrom("builds")
        .innerJoin("services", "services.id", "builds.service_id")
        .innerJoin("projects", "projects.id", "services.project_id")
        .selectAll("builds")
        .where("builds.id", "=", buildId)
        .where("projects.org_id", "=", actor.orgId)
        .executeTakeFirst();
      if (!build) throw notFound(`build ${buildId}`);
      if (build.service_id !== serviceId) {
        throw unprocessable(`build ${buildId} belongs to another service; deploy it there`);
      }
      return { deployment: await deployBuild(trx, actor, await lockedService(trx, serviceId), build, reason) };
    });
  }

  const { service, repository } = await buildableService(db, actor, serviceId);
  const sha = await resolveBranchHead(service.git_url, service.branch);
  for (let attempt = 1; attempt <= HEAD_ATTEMPTS; attempt++) {
    const outcome = await db.transaction().execute(async (trx): Promise<DeployOutcome | undefined> => {
      // The head's builds first, then the service: the order in which a completing build takes them
      // (its row, then the deployment lock), so a build completing now is seen completed, or sees
      // the deploy request.
      const builds = await trx
        .selectFrom("builds")
        .selectAll()
        .where("service_id", "=", serviceId)
        .where("commit_sha", "=", sha)
        .orderBy("created_at", "desc")
        .forUpdate()
        .execute();
      await lockServiceDeployments(trx, serviceId);
      // A build of the head queued meanwhile (another Deploy, a push) is not locked: look again.
      const now = await trx
        .selectFrom("builds")
        .select(sql<number>`count(*)::int`.as("n"))
        .where("service_id", "=", serviceId)
        .where("commit_sha", "=", sha)
        .executeTakeFirstOrThrow();
      if (now.n !== builds.length) return undefined;
      const current = await lockedService(trx, serviceId);
      const completed = builds.find((b) => b.status === "completed" && b.image_digest && b.image_ref);
      if (completed) return { deployment: await deployBuild(trx, actor, current, completed, reason) };
      const onItsWay = builds.find((b) => !isTerminalBuildStatus(b.status));
      const build = await requestDeployOnCompletion(
        trx,
        onItsWay?.id ?? (await queueManualBuild(trx, actor, current, repository, sha)).id,
        { actor: actor.label, reason },
      );
      await audit(trx, actor, "service.deploy", `service:${serviceId}`, {
        buildId: build.id,
        commitSha: sha,
        queued: !onItsWay,
        reason,
      });
      return { build };
    });
    if (outcome) return outcome;
  }
  throw unavailable(`builds of service ${serviceId} keep changing; try again`);
}

/** A new deployment of the image the service runs (or is rolling out): new replicas replace the old. */
export async function restartService(db: Db, actor: Actor, serviceId: string, reason?: string): Promise<Deployment> {
  return operate(db, actor, serviceId, async (trx, service) => {
    if (service.stopped_at) throw conflict(`service ${serviceId} is stopped; start it instead`);
    const wanted = await latestWantedDeployment(trx, serviceId);
    if (!wanted || wanted.replicas === 0) throw conflict(`nothing is deployed to service ${serviceId}`);
    return record(trx, actor, service, "restart", wanted, service.replicas, reason);
  });
}

/** Takes every replica out of the route and removes it; completing builds no longer deploy. */
export async function stopService(db: Db, actor: Actor, serviceId: string, reason?: string): Promise<Deployment> {
  return operate(db, actor, serviceId, async (trx, service) => {
    if (service.stopped_at) throw conflict(`service ${serviceId} is already stopped`);
    const latest =
      (await latestWantedDeployment(trx, serviceId)) ??
      (await trx
        .selectFrom("deployments")
        .selectAll()
        .where("service_id", "=", serviceId)
        .orderBy("sequence", "desc")
        .limit(1)
        .executeTakeFirst());
    if (!latest) {
      throw conflict(`nothing is deployed to service ${serviceId}; turn auto-deploy off to keep builds from deploying`);
    }
    await setStopped(trx, serviceId, true);
    return record(trx, actor, service, "stop", latest, 0, reason);
  });
}

/** Brings back what a stopped service last served, with the service's replicas. */
export async function startService(db: Db, actor: Actor, serviceId: string, reason?: string): Promise<Deployment> {
  return operate(db, actor, serviceId, async (trx, service) => {
    if (!service.stopped_at) throw conflict(`service ${serviceId} is not stopped`);
    const last = await lastServingDeployment(trx, serviceId);
    if (!last) throw conflict(`nothing served service ${serviceId} before it stopped; deploy a build to start it`);
    await setStopped(trx, serviceId, false);
    return record(trx, actor, service, "start", last, service.replicas, reason);
  });
}

/**
 * After the service's replica count changed (inside that change's transaction): a deployment of
 * the image it runs with the new count, unless it is stopped or runs nothing, or already runs as
 * many. Returns the deployment, when one was needed.
 */
export async function scaleService(
  trx: Transaction<Database>,
  actor: Actor,
  serviceId: string,
): Promise<Deployment | undefined> {
  await lockServiceDeployments(trx, serviceId);
  const service = await lockedService(trx, serviceId);
  if (service.stopped_at) return undefined;
  const wanted = await latestWantedDeployment(trx, serviceId);
  if (!wanted || wanted.replicas === 0 || wanted.replicas === service.replicas) return undefined;
  return record(
    trx,
    actor,
    service,
    "scale",
    wanted,
    service.replicas,
    `from ${wanted.replicas} to ${service.replicas}`,
  );
}

/** Runs `decide` in a transaction holding the service's deployment lock (404 for another org's). */
async function operate(
  db: Db,
  actor: Actor,
  serviceId: string,
  decide: (trx: Transaction<Database>, service: Service) => Promise<Deployment>,
): Promise<Deployment> {
  await getService(db, actor.orgId, serviceId);
  return db.transaction().execute(async (trx) => {
    await lockServiceDeployments(trx, serviceId);
    return decide(trx, await lockedService(trx, serviceId));
  });
}

/** The service as it is under the deployment lock (the caller holds it). */
function lockedService(trx: Transaction<Database>, serviceId: string): Promise<Service> {
  return trx.selectFrom("services").selectAll().where("id", "=", serviceId).executeTakeFirstOrThrow();
}

async function setStopped(trx: Transaction<Database>, serviceId: string, stopped: boolean): Promise<void> {
  await trx
    .updateTable("services")
    .set((eb) => ({ stopped_at: stopped ? eb.fn<Date>("clock_timestamp") : null }))
    .where("id", "=", serviceId)
    .execute();
}

/** Deploys a build of the service chosen by hand; it must have completed with its image. */
async function deployBuild(
  trx: Transaction<Database>,
  actor: Actor,
  service: Service,
  build: Build,
  reason: string | null,
): Promise<Deployment> {
  if (build.status !== "completed" || !build.image_digest || !build.image_ref) {
    throw unprocessable(
      build.status === "completed"
        ? `build ${build.id} has no image to deploy`
        : `build ${build.id} is ${build.status}${build.status_reason ? ` (${build.status_reason})` : ""}: only a completed build can be deployed`,
    );
  }
  const serving = service.stopped_at ? undefined : await lastServingDeployment(trx, service.id);
  const servingBuild = serving
    ? await trx.selectFrom("builds").select("created_at").where("id", "=", serving.build_id).executeTakeFirstOrThrow()
    : undefined;
  const trigger = servingBuild && build.created_at < servingBuild.created_at ? "rollback" : "manual";
  if (service.stopped_at) await setStopped(trx, service.id, false);
  const image = { build_id: build.id, image_ref: imageByDigest(build.image_ref, build.image_digest) };
  return record(trx, actor, service, trigger, image, service.replicas, reason ?? undefined);
}

/** Creates the deployment of `image` and its audit entry. */
async function record(
  trx: Transaction<Database>,
  actor: Actor,
  service: Service,
  trigger: DeploymentTrigger,
  image: Pick<Deployment, "build_id" | "image_ref">,
  replicas: number,
  reason: string | undefined,
): Promise<Deployment> {
  const deployment = await createDeployment(trx, {
    serviceId: service.id,
    buildId: image.build_id,
    imageRef: image.image_ref,
    replicas,
    createdBy: actor.label,
    trigger,
    triggerReason: reason ?? null,
  });
  const action = trigger === "manual" || trigger === "rollback" ? "service.deploy" : `service.${trigger}`;
  await audit(trx, actor, action, `service:${service.id}`, {
    deploymentId: deployment.id,
    sequence: deployment.sequence,
    trigger,
    buildId: image.build_id,
    replicas,
    reason: reason ?? null,
  });
  return deployment;
}
