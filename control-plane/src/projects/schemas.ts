import { Type, type Static } from "typebox";
import type { Project, Service } from "../db/schema.js";

export const Uuid = Type.String({ format: "uuid" });

export const ProjectBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 63, pattern: "^[a-z0-9][a-z0-9-]*$" }) },
  { additionalProperties: false },
);

export const ProjectView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: "date-time" }),
});

export const ServiceBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 63, pattern: "^[a-z0-9][a-z0-9-]*$" }),
    /** An http(s) clone URL without credentials in it. */
    gitUrl: Type.String({ minLength: 1, maxLength: 2048, pattern: "^https?://[^/@\\s]+/\\S+$" }),
    /** GitHub's repository id: pushes to it build this service. */
    githubRepoId: Type.Optional(Type.Integer({ minimum: 1 })),
    branch: Type.String({ minLength: 1, maxLength: 255, pattern: "^[^\\s~^:?*\\[\\\\]+$" }),
    rootDir: Type.Optional(Type.String({ maxLength: 1024, pattern: "^(?!/)(?!.*(^|/)\\.\\.(/|$)).*$" })),
    containerPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  },
  { additionalProperties: false },
);
export type ServiceBody = Static<typeof ServiceBody>;

export const ServiceView = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  name: Type.String(),
  gitUrl: Type.String(),
  githubRepoId: Type.Union([Type.Integer(), Type.Null()]),
  branch: Type.String(),
  rootDir: Type.String(),
  containerPort: Type.Integer(),
  replicas: Type.Integer(),
  autoDeploy: Type.Boolean(),
  createdAt: Type.String({ format: "date-time" }),
});

export const projectView = (p: Project): Static<typeof ProjectView> => ({
  id: p.id,
  name: p.name,
  createdAt: p.created_at.toISOString(),
});

export const serviceView = (s: Service): Static<typeof ServiceView> => ({
  id: s.id,
  projectId: s.project_id,
  name: s.name,
  gitUrl: s.git_url,
  githubRepoId: s.github_repo_id === null ? null : Number(s.github_repo_id),
  branch: s.branch,
  rootDir: s.root_dir,
  containerPort: s.container_port,
  replicas: s.replicas,
  autoDeploy: s.auto_deploy,
  createdAt: s.created_at.toISOString(),
});
