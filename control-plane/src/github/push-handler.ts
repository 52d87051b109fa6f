// Turns a verified push delivery into build rows. The delivery record, the builds and their GitHub
// Deployments outbox rows are written in one transaction: a push leaves all of them or none, and a
// redelivery creates nothing new.
import type { Transaction } from "kysely";
import type { Db } from "../db/database.js";
import type { Database } from "../db/schema.js";
import { insertBuild } from "../builds/build-repository.js";
import { notifyWorkAvailable } from "../agents/work-notifier.js";
import { recordDelivery } from "./deliveries.js";
import { queueGitHubDeployment } from "./deployment-outbox.js";
import { pushSkipReason, touchesService, watchedDirectories, type PushEvent } from "./push-event.js";
import { repositoryProblem } from "./repository-state.js";

export interface PushResult {
  duplicate: boolean;
  outcome: "queued" | "ignored";
  reason: string;
  buildIds: string[];
}

interface LinkedService {
  id: string;
  name: string;
  branch: string;
  root_dir: string;
  watch_paths: string[];
  build_tags: boolean;
}

/** Why this service does not build this push, or null when it does. */
function serviceSkipReason(service: LinkedService, push: PushEvent): string | null {
  if (push.tag !== null) return service.build_tags ? null : "tag pushes are not built";
  if (service.branch !== push.branch) return `builds branch ${service.branch}`;
  if (!touchesService(push.changedFiles, service.root_dir, service.watch_paths)) {
    return `no change under ${watchedDirectories(service.root_dir, service.watch_paths).join(", ")}`;
  }
  return null;
}

async function decide(trx: Transaction<Database>, push: PushEvent) {
  const skip = pushSkipReason(push);
  if (skip) return { targets: [], reason: skip, installationId: undefined, repository: undefined };

  const linked: LinkedService[] = await trx
    .selectFrom("services")
    .select(["id", "name", "branch", "root_dir", "watch_paths", "build_tags"])
    .where("github_repo_id", "=", String(push.repositoryId))
    .orderBy("created_at")
    .execute();
  const repoLabel = push.repositoryFullName ?? `repository ${push.repositoryId}`;
  if (linked.length === 0)
    return {
      targets: [],
      reason: `no service is linked to ${repoLabel}`,
      installationId: undefined,
      repository: undefined,
    };

  const repo = await trx
    .selectFrom("github_repos")
    .leftJoin("github_installations", "github_installations.id", "github_repos.installation_id")
    .select([
      "github_repos.full_name",
      "github_repos.installation_id",
      "github_repos.removed_at",
      "github_installations.suspended_at",
      "github_installations.deleted_at",
    ])
    .where("github_repos.id", "=", String(push.repositoryId))
    .executeTakeFirst();
  const problem = repo ? repositoryProblem(repo) : null;
  if (problem) return { targets: [], reason: problem, installationId: undefined, repository: undefined };

  const decisions = linked.map((service) => ({ service, skip: serviceSkipReason(service, push) }));
  const targets = decisions.filter((d) => d.skip === null).map((d) => d.service);
  const skipped = decisions.filter((d) => d.skip !== null).map((d) => `${d.service.name} (${d.skip})`);
  const ref = push.branch !== null ? `branch ${push.branch}` : `tag ${push.tag}`;
  const reason =
    targets.length > 0
      ? `queued ${targets.length} build(s) for ${ref}: ${targets.map((t) => t.name).join(", ")}` +
        (skipped.length ? `; not built: ${skipped.join(", ")}` : "")
      : `no linked service builds this push of ${ref}: ${skipped.join(", ")}`;
  return {
    targets,
    reason,
    installationId: repo?.installation_id ? Number(repo.installation_id) : undefined,
    repository: repo?.full_name ?? push.repositoryFullName,
  };
}

export async function handlePush(db: Db, deliveryId: string, push: PushEvent): Promise<PushResult> {
  return db.transaction().execute(async (trx) => {
    const { targets, reason, installationId, repository } = await decide(trx, push);
    const outcome = targets.length > 0 ? "queued" : "ignored";
    const fresh = await recordDelivery(trx, {
      deliveryId,
      event: "push",
      repositoryId: push.repositoryId,
      installationId: push.installationId ?? null,
      ref: push.ref,
      headSha: push.headSha,
      outcome,
      reason,
      buildsCreated: targets.length,
    });
    if (!fresh) return { duplicate: true, outcome, reason: "this delivery was already received", buildIds: [] };

    const buildIds: string[] = [];
    for (const service of targets) {
      const build = await insertBuild(trx, {
        serviceId: service.id,
        commitSha: push.headSha,
        branch: push.branch ?? push.tag ?? "",
        commitMessage: push.message,
        trigger: "push",
        deliveryId,
        actor: `webhook:${deliveryId}`,
      });
      if (installationId !== undefined && repository) {
        await queueGitHubDeployment(trx, { buildId: build.id, installationId, repository, environment: service.name });
      }
      buildIds.push(build.id);
    }
    if (buildIds.length > 0) await notifyWorkAvailable(trx, "build");
    return { duplicate: false, outcome, reason, buildIds };
  });
}
