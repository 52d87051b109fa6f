import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { Db } from "../db/database.js";
import { createProject, createService, getService, listProjects, listServices } from "./project-repository.js";
import { ProjectBody, ProjectView, ServiceBody, ServiceView, Uuid, projectView, serviceView } from "./schemas.js";

export const projectRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.post(
    "/projects",
    { schema: { tags: ["projects"], body: ProjectBody, response: { 201: ProjectView } } },
    async (request, reply) =>
      reply.status(201).send(projectView(await createProject(db, request.actor, request.body.name))),
  );

  app.get(
    "/projects",
    { schema: { tags: ["projects"], response: { 200: Type.Array(ProjectView) } } },
    async (request) => (await listProjects(db, request.actor.orgId)).map(projectView),
  );

  app.post(
    "/projects/:projectId/services",
    {
      schema: {
        tags: ["services"],
        params: Type.Object({ projectId: Uuid }),
        body: ServiceBody,
        response: { 201: ServiceView },
      },
    },
    async (request, reply) => {
      const service = await createService(db, request.actor, request.params.projectId, request.body);
      return reply.status(201).send(serviceView(service));
    },
  );

  app.get(
    "/projects/:projectId/services",
    {
      schema: {
        tags: ["services"],
        params: Type.Object({ projectId: Uuid }),
        response: { 200: Type.Array(ServiceView) },
      },
    },
    async (request) => (await listServices(db, request.actor.orgId, request.params.projectId)).map(serviceView),
  );

  app.get(
    "/services/:serviceId",
    { schema: { tags: ["services"], params: Type.Object({ serviceId: Uuid }), response: { 200: ServiceView } } },
    async (request) => serviceView(await getService(db, request.actor.orgId, request.params.serviceId)),
  );
};
