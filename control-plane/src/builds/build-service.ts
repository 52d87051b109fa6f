// Reading and triggering builds on behalf of API callers.
import { sql, type Transaction } from "kysely";
import type { Db } from "../db/database.js";
import type { Build, Database, Service } from "../db/schema.js";
import type { Actor } from "../auth/bootstrap-auth.js";
import { audit } from "../audit/audit-log.js";
import { conflict, notFound } from "../errors.js";
import { getService, repositoryStatuses, type RepositoryStatus } from "../projects/project-repository.js";
import { notifyWork } from "../work/sql/notify.js";
import { cancelWork } from "../work/sql/cancel.js";
import { BUILD_TABLE, insertBuild } from "./build-work.js";
import { isTerminalBuildStatus } from "./build-status.js";
import { resolveBranchHead } from "./branch-head.js";
import { queueGitHubDeployment } from "../github/deployment-outbox.js";
import { describeLabels } from "../agents/agent-labels.js";

export async function triggerBuild(db: Db, actor: Actor, serviceId: string, commitSha?: string): Promise<Build> {
  const { service, repository } = await buildableService(db, actor, serviceId);
  const sha = commitSha ?? (await resolveBranchHead(service.git_url, service.branch));
  return db.transaction().execute((trx) => queueManualBuild(trx, actor, service, repository, sha));
}

/** A service of the caller's organisation whose repository still builds (409 when it does not). */
export async function buildableService(
  db: Db,
  actor: Actor,
  serviceId: string,
): Promise<{ service: Service; repository: RepositoryStatus | undefined }> {
  const service = await getService(db, actor.orgId, serviceId);
  const repository = (await repositoryStatuses(db, [service])).get(service.id);
  if (repository?.problem) throw conflict(`${repository.problem}; reconnect it before building`);
  return { service, repository };
}

/** Queues a build of `sha` by hand, audited and mirrored to GitHub; call inside the caller's transaction. */
export async function queueManualBuild(
  trx: Transaction<Database>,
  actor: Actor,
  service: Service,
  repository: RepositoryStatus | undefined,
  sha: string,
): Promise<Build> {
  const build = await insertBuild(trx, {
    serviceId: service.id,
    commitSha: sha,
    branch: service.branch,
    trigger: "manual",
    actor: actor.label,
  });
  await mirrorToGitHub(trx, actor, build.id, service.name, repository);
  await audit(trx, actor, "build.trigger", `build:${build.id}`, { serviceId: service.id, commitSha: sha });
  await notifyWork(trx, BUILD_TABLE.name);
  return build;
}

/**
 * Queues the build's GitHub Deployment when the service's repository comes through an installation
 * of the caller's own organisation (the only one allowed to act on that repository).
 */
async function mirrorToGitHub(
  trx: Transaction<Database>,
  actor: Actor,
  buildId: string,
  environment: string,
  repository: RepositoryStatus | undefined,
): Promise<void> {
  if (!repository?.installationId || repository.installationOrgId !== actor.orgId) return;
  await queueGitHubDeployment(trx, {
    buildId,
    installationId: repository.installationId,
    repository: repository.fullName,
    environment,
  });
}

/** A build of the caller's organisation. */
export async function getBuild(db: Db, orgId: string, buildId: string): Promise<Build> {
  const build = await db
    .selectFrom("builds")
    .innerJoin("services", "services.id", "builds.service_id")
    .innerJoin("projects", "projects.id", "services.project_id")
    .selectAll("builds")
    .where("builds.id", "=", buildId)
    .where("projects.org_id", "=", orgId)
    .executeTakeFirst();
  if (!build) throw notFound(`build ${buildId}`);
  return build;
}

/**
 * Why a pending build cannot start, when no agent could ever claim it as things stand (none able to
 * build is enrolled, undrained and carrying the labels its service requires); null when one could.
 * A build must not wait in silence for an agent that does not exist.
 */
export async function whyUnclaimable(db: Db, build: Build): Promise<string | null> {
  if (build.status !== "pending") return null;
  const service = await db
    .selectFrom("services")
    .innerJoin("projects", "projects.id", "services.project_id")
    .select((eb) => [
      "services.build_agent_labels as labels",
      eb
        .exists(
          eb
            .selectFrom("agents")
            .select("agents.id")
            .whereRef("agents.org_id", "=", "projects.org_id")
            .where("agents.enrolled_at", "is not", null)
            .where("agents.revoked_at", "is", null)
            .where("agents.drained_at", "is", null)
            .where(sql<boolean>`'build' = ANY(agents.capabilities)`)
            .where(sql<boolean>`services.build_agent_labels <@ agents.labels`),
        )
        .as("claimable"),
    ])
    .where("services.id", "=", build.service_id)
    .executeTakeFirstOrThrow();
  if (service.claimable) return null;
  const labels = describeLabels(service.labels);
  return labels
    ? `no enrolled, undrained agent that builds carries ${labels}`
    : "no enrolled, undrained agent builds for this organisation";
}

export async function getBuildHistory(db: Db, buildId: string) {
  return db
    .selectFrom("build_status_history")
    .select(["from_status", "to_status", "actor", "reason", "at"])
    .where("build_id", "=", buildId)
    .orderBy("id")
    .execute();
}

export async function listBuilds(
  db: Db,
  orgId: string,
  filter: { serviceId?: string | undefined; limit: number; before?: string | undefined },
): Promise<Build[]> {
  let query = db
    .selectFrom("builds")
    .innerJoin("services", "services.id", "builds.service_id")
    .innerJoin("projects", "projects.id", "services.project_id")
    .selectAll("builds")
    .where("projects.org_id", "=", orgId);
  if (filter.serviceId) query = query.where("builds.service_id", "=", filter.serviceId);
  if (filter.before) query = query.where("builds.created_at", "<", new Date(filter.before));
  return query.orderBy("builds.created_at", "desc").orderBy("builds.id", "desc").limit(filter.limit).execute();
}

/** Cancels a build of the caller's organisation; 409 when it already finished. */
export async function cancelBuild(
  db: Db,
  actor: Actor,
  buildId: string,
): Promise<{ build: Build; outcome: "cancelled" | "requested" }> {
  await getBuild(db, actor.orgId, buildId);
  const result = await db.transaction().execute(async (trx) => {
    const cancel = await cancelWork<Build>(trx, BUILD_TABLE, buildId, actor.label);
    if (cancel && cancel.outcome !== "finished") {
      await audit(trx, actor, "build.cancel", `build:${buildId}`, { outcome: cancel.outcome });
    }
    return cancel;
  });
  if (!result) throw notFound(`build ${buildId}`);
  if (result.outcome === "finished") throw conflict(`build ${buildId} already ${result.row.status}`);
  return { build: result.row, outcome: result.outcome };
}

/** Builds the same commit again as a new build linked to the old one; only once the old one ended. */
export async function retryBuild(db: Db, actor: Actor, buildId: string): Promise<Build> {
  const previous = await getBuild(db, actor.orgId, buildId);
  if (!isTerminalBuildStatus(previous.status)) {
    throw conflict(`build ${buildId} is still ${previous.status}; cancel it or wait for it to end`);
  }
  const service = await getService(db, actor.orgId, previous.service_id);
  const repository = (await repositoryStatuses(db, [service])).get(service.id);
  if (repository?.problem) throw conflict(`${repository.problem}; reconnect it before building`);
  return db.transaction().execute(async (trx) => {
    const build = await insertBuild(trx, {
      serviceId: service.id,
      commitSha: previous.commit_sha,
      branch: previous.branch,
      commitMessage: previous.commit_message,
      trigger: "retry",
      retryOf: previous.id,
      actor: actor.label,
    });
    await mirrorToGitHub(trx, actor, build.id, service.name, repository);
    await audit(trx, actor, "build.retry", `build:${build.id}`, { retryOf: previous.id });
    await notifyWork(trx, BUILD_TABLE.name);
    return build;
  });
}
