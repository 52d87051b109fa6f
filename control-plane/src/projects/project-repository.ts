// Projects and the services in them, always scoped to the caller's organisation.
import type { Db } from "../db/database.js";
import type { Deployment, Project, Service } from "../db/schema.js";
import type { Actor } from "../auth/bootstrap-auth.js";
import { audit } from "../audit/audit-log.js";
import { conflict, isUniqueViolation, notFound } from "../errors.js";
import { notifyWork } from "../work/sql/notify.js";
import { REPOSITORY_STATE_COLUMNS, repositoryProblem } from "../github/repository-state.js";
import type { HealthCheckSettings } from "../deployments/health-check.js";
import type { IngressAddresses } from "../ingress/addresses.js";
import { freeIngressLabel, replaceDomains } from "../ingress/service-ingress.js";
import { scaleService } from "../deployments/service-operations.js";

export async function createProject(db: Db, actor: Actor, name: string): Promise<Project> {
  try {
    return await db.transaction().execute(async (trx) => {
      const project = await trx
        .insertInto("projects")
        .values({ org_id: actor.orgId, name })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(trx, actor, "project.create", `project:${project.id}`, { name });
      return project;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`a project named ${name} already exists`);
    throw error;
  }
}

export async function listProjects(db: Db, orgId: string): Promise<Project[]> {
  return db.selectFrom("projects").selectAll().where("org_id", "=", orgId).orderBy("created_at").execute();
}

export async function getProject(db: Db, orgId: string, projectId: string): Promise<Project> {
  const project = await db
    .selectFrom("projects")
    .selectAll()
    .where("id", "=", projectId)
    .where("org_id", "=", orgId)
    .executeTakeFirst();
  if (!project) throw notFound(`project ${projectId}`);
  return project;
}

export interface NewServiceInput {
  name: string;
  gitUrl: string;
  githubRepoId?: number | null | undefined;
  branch: string;
  rootDir?: string | undefined;
  watchPaths?: string[] | undefined;
  buildTags?: boolean | undefined;
  containerPort: number;
  replicas?: number | undefined;
  autoDeploy?: boolean | undefined;
  buildAgentLabels?: Record<string, string> | undefined;
  deployAgentLabels?: Record<string, string> | undefined;
  healthCheck?: HealthCheckSettings | undefined;
  drainSeconds?: number | undefined;
  domains?: string[] | undefined;
}

export async function createService(
  db: Db,
  actor: Actor,
  addresses: IngressAddresses,
  projectId: string,
  input: NewServiceInput,
): Promise<Service> {
  const project = await getProject(db, actor.orgId, projectId);
  try {
    return await db.transaction().execute(async (trx) => {
      const service = await trx
        .insertInto("services")
        .values({
          project_id: projectId,
          name: input.name,
          git_url: input.gitUrl,
          github_repo_id: input.githubRepoId ?? null,
          branch: input.branch,
          root_dir: input.rootDir ?? "",
          watch_paths: input.watchPaths ?? [],
          build_tags: input.buildTags ?? false,
          container_port: input.containerPort,
          replicas: input.replicas ?? 1,
          auto_deploy: input.autoDeploy ?? true,
          build_agent_labels: JSON.stringify(input.buildAgentLabels ?? {}),
          deploy_agent_labels: JSON.stringify(input.deployAgentLabels ?? {}),
          ingress_label: await freeIngressLabel(trx, input.name, project.name),
          ...(input.healthCheck !== undefined && { health_check: JSON.stringify(input.healthCheck) }),
          ...(input.drainSeconds !== undefined && { drain_seconds: input.drainSeconds }),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      if (input.domains) await replaceDomains(trx, addresses, service.id, input.domains);
      await audit(trx, actor, "service.create", `service:${service.id}`, { projectId, name: input.name });
      return service;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`project ${projectId} already has a service named ${input.name}`);
    throw error;
  }
}

/** A service of the caller's organisation, with the project it belongs to. */
export async function getService(db: Db, orgId: string, serviceId: string): Promise<Service> {
  const service = await db
    .selectFrom("services")
    .innerJoin("projects", "projects.id", "services.project_id")
    .selectAll("services")
    .where("services.id", "=", serviceId)
    .where("projects.org_id", "=", orgId)
    .executeTakeFirst();
  if (!service) throw notFound(`service ${serviceId}`);
  return service;
}

export interface ServiceChanges {
  watchPaths?: string[] | undefined;
  buildTags?: boolean | undefined;
  replicas?: number | undefined;
  autoDeploy?: boolean | undefined;
  buildAgentLabels?: Record<string, string> | undefined;
  deployAgentLabels?: Record<string, string> | undefined;
  healthCheck?: HealthCheckSettings | undefined;
  drainSeconds?: number | undefined;
  domains?: string[] | undefined;
}

/**
 * Changes a service of the caller's organisation. New agent labels apply to work still waiting, so
 * agents are told to look again: work no agent could take may now fit one. A new replica count
 * rolls out at once (deployments/service-operations.ts#scaleService): the deployment it created,
 * if any, comes back with the service.
 */
export async function updateService(
  db: Db,
  actor: Actor,
  addresses: IngressAddresses,
  serviceId: string,
  changes: ServiceChanges,
): Promise<{ service: Service; deployment: Deployment | undefined }> {
  return db.transaction().execute(async (trx) => {
    const values = {
      ...(changes.watchPaths !== undefined && { watch_paths: changes.watchPaths }),
      ...(changes.buildTags !== undefined && { build_tags: changes.buildTags }),
      ...(changes.replicas !== undefined && { replicas: changes.replicas }),
      ...(changes.autoDeploy !== undefined && { auto_deploy: changes.autoDeploy }),
      ...(changes.buildAgentLabels !== undefined && { build_agent_labels: JSON.stringify(changes.buildAgentLabels) }),
      ...(changes.deployAgentLabels !== undefined && {
        deploy_agent_labels: JSON.stringify(changes.deployAgentLabels),
      }),
      ...(changes.healthCheck !== undefined && { health_check: JSON.stringify(changes.healthCheck) }),
      ...(changes.drainSeconds !== undefined && { drain_seconds: changes.drainSeconds }),
    };
    const ofOrg = trx.selectFrom("projects").select("id").where("org_id", "=", actor.orgId);
    // Only domains changing leaves no column to set: the row is then read (and locked) as it is.
    const service =
      Object.keys(values).length > 0
        ? await trx
            .updateTable("services")
            .set(values)
            .where("id", "=", serviceId)
            .where("project_id", "in", ofOrg)
            .returningAll()
            .executeTakeFirst()
        : await trx
            .selectFrom("services")
            .selectAll()
            .where("id", "=", serviceId)
            .where("project_id", "in", ofOrg)
            .forUpdate()
            .executeTakeFirst();
    if (!service) throw notFound(`service ${serviceId}`);
    if (changes.domains !== undefined) await replaceDomains(trx, addresses, service.id, changes.domains);
    await audit(trx, actor, "service.update", `service:${service.id}`, { ...changes });
    if (changes.buildAgentLabels !== undefined) await notifyWork(trx, "build");
    if (changes.deployAgentLabels !== undefined) await notifyWork(trx, "deploy");
    const deployment = changes.replicas !== undefined ? await scaleService(trx, actor, service.id) : undefined;
    return { service, deployment };
  });
}

export async function listServices(db: Db, orgId: string, projectId: string): Promise<Service[]> {
  await getProject(db, orgId, projectId);
  return db.selectFrom("services").selectAll().where("project_id", "=", projectId).orderBy("created_at").execute();
}

export interface RepositoryStatus {
  fullName: string;
  installationId: number | null;
  /** The organisation the installation is bound to (null while unbound or without installation). */
  installationOrgId: string | null;
  problem: string | null;
}

/** For each service linked to a known GitHub repository, that repository and whether it still builds. */
export async function repositoryStatuses(db: Db, services: Service[]): Promise<Map<string, RepositoryStatus>> {
  const ids = [...new Set(services.map((s) => s.github_repo_id).filter((id): id is string => id !== null))];
  if (ids.length === 0) return new Map();
  const repos = await db
    .selectFrom("github_repos")
    .leftJoin("github_installations", "github_installations.id", "github_repos.installation_id")
    .select(["github_repos.id", ...REPOSITORY_STATE_COLUMNS, "github_installations.org_id"])
    .where("github_repos.id", "in", ids)
    .execute();
  const byRepo = new Map(
    repos.map((r) => [
      r.id,
      {
        fullName: r.full_name,
        installationId: r.installation_id === null ? null : Number(r.installation_id),
        installationOrgId: r.org_id,
        problem: repositoryProblem(r),
      },
    ]),
  );
  const result = new Map<string, RepositoryStatus>();
  for (const service of services) {
    const status = service.github_repo_id === null ? undefined : byRepo.get(service.github_repo_id);
    if (status) result.set(service.id, status);
  }
  return result;
}
