import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type, type Static } from "typebox";
import type { Db } from "../db/database.js";
import type { Service } from "../db/schema.js";
import type { GitHubApi } from "../github/github-api.js";
import { badRequest } from "../http/errors.js";
import {
  createProject,
  createService,
  getService,
  listProjects,
  listServices,
  repositoryStatuses,
  updateService,
  type RepositoryStatus,
} from "./project-repository.js";
import { resolveRepositorySource } from "./repository-source.js";
import type { IngressAddresses } from "../ingress/addresses.js";
import { domainsOf } from "../ingress/service-ingress.js";
import { currentDeployments } from "../deployments/deployment-repository.js";
import {
  ProjectBody,
  ProjectView,
  ServiceBody,
  ServicePatch,
  ServiceView,
  Uuid,
  projectView,
  serviceView,
} from "./schemas.js";

export const projectRoutes: FastifyPluginAsyncTypebox<{
  db: Db;
  githubApi: GitHubApi;
  githubWebUrl: string;
  addresses: IngressAddresses;
}> = async (app, { db, githubApi, githubWebUrl, addresses }) => {
  const shown = (status: RepositoryStatus | undefined) =>
    status ? { fullName: status.fullName, installationId: status.installationId, problem: status.problem } : null;
  const views = async (services: Service[]) => {
    const statuses = await repositoryStatuses(db, services);
    const ids = services.map((s) => s.id);
    const [domains, current] = await Promise.all([domainsOf(db, ids), currentDeployments(db, ids)]);
    return services.map((s) =>
      serviceView(
        s,
        shown(statuses.get(s.id)),
        { url: addresses.urlOf(s.ingress_label), domains: domains.get(s.id) ?? [] },
        current.get(s.id) ?? null,
      ),
    );
  };
  const viewOf = async (service: Service) => (await views([service]))[0] as Static<typeof ServiceView>;

  app.post(
    "/projects",
    { config: { access: "admin" }, schema: { tags: ["projects"], body: ProjectBody, response: { 201: ProjectView } } },
    async (request, reply) =>
      reply.status(201).send(projectView(await createProject(db, request.actor, request.body.name))),
  );

  app.get(
    "/projects",
    { config: { access: "viewer" }, schema: { tags: ["projects"], response: { 200: Type.Array(ProjectView) } } },
    async (request) => (await listProjects(db, request.actor.orgId)).map(projectView),
  );

  app.post(
    "/projects/:projectId/services",
    {
      config: { access: "developer" },
      schema: {
        tags: ["services"],
        params: Type.Object({ projectId: Uuid }),
        body: ServiceBody,
        response: { 201: ServiceView },
      },
    },
    async (request, reply) => {
      const { body, actor } = request;
      const source = await resolveRepositorySource(db, githubApi, githubWebUrl, actor, body);
      const branch = body.branch ?? source.defaultBranch;
      if (!branch) throw badRequest("branch is required for a plain git URL");
      const service = await createService(db, actor, addresses, request.params.projectId, {
        ...body,
        gitUrl: source.gitUrl,
        githubRepoId: source.githubRepoId,
        branch,
      });
      return reply.status(201).send(await viewOf(service));
    },
  );

  app.get(
    "/projects/:projectId/services",
    {
      config: { access: "viewer" },
      schema: {
        tags: ["services"],
        params: Type.Object({ projectId: Uuid }),
        response: { 200: Type.Array(ServiceView) },
      },
    },
    async (request) => views(await listServices(db, request.actor.orgId, request.params.projectId)),
  );

  app.get(
    "/services/:serviceId",
    {
      config: { access: "viewer" },
      schema: { tags: ["services"], params: Type.Object({ serviceId: Uuid }), response: { 200: ServiceView } },
    },
    async (request) => viewOf(await getService(db, request.actor.orgId, request.params.serviceId)),
  );

  app.patch(
    "/services/:serviceId",
    {
      config: { access: "developer" },
      schema: {
        tags: ["services"],
        params: Type.Object({ serviceId: Uuid }),
        body: ServicePatch,
        response: { 200: ServiceView },
      },
    },
    async (request) => {
      const { service, deployment } = await updateService(
        db,
        request.actor,
        addresses,
        request.params.serviceId,
        request.body,
      );
      const view = await viewOf(service);
      return deployment ? { ...view, deploymentId: deployment.id } : view;
    },
  );
};
