import { Type, type Static } from "typebox";
import type { Project, Service } from "../db/schema.js";
import { AgentLabels } from "../agents/agent-labels.js";
import { completeHealthCheck, HealthCheckSettings } from "../deployments/health-check.js";
import { BRANCH_PATTERN, GIT_URL_PATTERN, NAME_PATTERN, REPO_PATH_PATTERN, UUID_PATTERN } from "../patterns.js";

export const Uuid = Type.String({ pattern: UUID_PATTERN });

export const ProjectBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 63, pattern: NAME_PATTERN }) },
  { additionalProperties: false },
);

export const ProjectView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: "date-time" }),
});

/** Labels an agent must carry to build, or to deploy, the service (all of them; empty: any agent). */
const AgentRequirements = {
  buildAgentLabels: Type.Optional(AgentLabels),
  deployAgentLabels: Type.Optional(AgentLabels),
};

/** How a new version rolls out, and where users reach the service besides its generated name. */
const RolloutSettings = {
  healthCheck: Type.Optional(HealthCheckSettings),
  /** How long a replica taken out of the route keeps running, for requests it is still serving. */
  drainSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
  /** Custom domains (Caddy obtains certificates for public names when HTTPS is on). */
  domains: Type.Optional(
    Type.Array(
      Type.String({
        minLength: 1,
        maxLength: 253,
        pattern:
          "^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.)+[a-zA-Z][a-zA-Z0-9-]{0,61}[a-zA-Z0-9]$",
      }),
      { maxItems: 20 },
    ),
  ),
};

/**
 * A service's code comes from exactly one of: a repository reachable through the organisation's
 * GitHub App installations (`githubRepoId`), a public GitHub repository (`githubUrl`), or any git
 * URL (`gitUrl`, optionally with the `githubRepoId` whose push webhooks should build it).
 */
export const ServiceBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 63, pattern: NAME_PATTERN }),
    gitUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, pattern: GIT_URL_PATTERN })),
    githubRepoId: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    githubUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, pattern: GIT_URL_PATTERN })),
    /** Defaults to the repository's default branch for GitHub sources. */
    branch: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: BRANCH_PATTERN })),
    rootDir: Type.Optional(Type.String({ maxLength: 1024, pattern: REPO_PATH_PATTERN })),
    /** With these set, a push builds only when it changes a file under one of them (or rootDir). */
    watchPaths: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 1024, pattern: REPO_PATH_PATTERN }), { maxItems: 32 }),
    ),
    /** Whether tag pushes build. */
    buildTags: Type.Optional(Type.Boolean()),
    containerPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    /** Whether a completed build deploys by itself (default true); the Deploy button works either way. */
    autoDeploy: Type.Optional(Type.Boolean()),
    ...AgentRequirements,
    ...RolloutSettings,
  },
  { additionalProperties: false },
);
export type ServiceBody = Static<typeof ServiceBody>;

/** What can change on an existing service without moving it to another repository. */
export const ServicePatch = Type.Object(
  {
    watchPaths: ServiceBody.properties.watchPaths,
    buildTags: ServiceBody.properties.buildTags,
    /** A new count rolls out at once as a deployment of the running image (`deploymentId`). */
    replicas: ServiceBody.properties.replicas,
    autoDeploy: ServiceBody.properties.autoDeploy,
    ...AgentRequirements,
    ...RolloutSettings,
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ServicePatch = Static<typeof ServicePatch>;

export const RepositoryStatusView = Type.Union([
  Type.Object({
    fullName: Type.String(),
    installationId: Type.Union([Type.Integer(), Type.Null()]),
    /** Why pushes no longer build this service, or null while they do. */
    problem: Type.Union([Type.String(), Type.Null()]),
  }),
  Type.Null(),
]);

export const ServiceView = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  name: Type.String(),
  gitUrl: Type.String(),
  githubRepoId: Type.Union([Type.Integer(), Type.Null()]),
  branch: Type.String(),
  rootDir: Type.String(),
  watchPaths: Type.Array(Type.String()),
  buildTags: Type.Boolean(),
  containerPort: Type.Integer(),
  replicas: Type.Integer(),
  autoDeploy: Type.Boolean(),
  buildAgentLabels: AgentLabels,
  deployAgentLabels: AgentLabels,
  repository: RepositoryStatusView,
  /** Where users reach the service; the same across deploys. */
  url: Type.String(),
  domains: Type.Array(Type.String()),
  healthCheck: Type.Required(HealthCheckSettings),
  drainSeconds: Type.Integer(),
  /** Stopped: no replicas run, and completing builds do not deploy until it is started or deployed. */
  stopped: Type.Boolean(),
  stoppedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  /** Its newest succeeded deployment (what serves, or the stop), or null. */
  currentDeploymentId: Type.Union([Type.String(), Type.Null()]),
  /** Only in the answer to a change that rolls out: the deployment it created. */
  deploymentId: Type.Optional(Type.String()),
  createdAt: Type.String({ format: "date-time" }),
});

export const projectView = (p: Project): Static<typeof ProjectView> => ({
  id: p.id,
  name: p.name,
  createdAt: p.created_at.toISOString(),
});

export const serviceView = (
  s: Service,
  repository: Static<typeof RepositoryStatusView>,
  ingress: { url: string; domains: string[] },
  currentDeploymentId: string | null,
): Static<typeof ServiceView> => ({
  id: s.id,
  projectId: s.project_id,
  name: s.name,
  gitUrl: s.git_url,
  githubRepoId: s.github_repo_id === null ? null : Number(s.github_repo_id),
  branch: s.branch,
  rootDir: s.root_dir,
  watchPaths: s.watch_paths,
  buildTags: s.build_tags,
  containerPort: s.container_port,
  replicas: s.replicas,
  autoDeploy: s.auto_deploy,
  buildAgentLabels: s.build_agent_labels,
  deployAgentLabels: s.deploy_agent_labels,
  repository,
  url: ingress.url,
  domains: ingress.domains,
  healthCheck: completeHealthCheck(s.health_check),
  drainSeconds: s.drain_seconds,
  stopped: s.stopped_at !== null,
  stoppedAt: s.stopped_at ? s.stopped_at.toISOString() : null,
  currentDeploymentId,
  createdAt: s.created_at.toISOString(),
});
