// Environment variables and secrets of services and projects. Every answer masks secrets (`value`
// null), the answers to changes included; a change answers with what changed and which services
// run with the old environment (redeploy them to apply it: replicas get their environment when
// they start).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type, type Static } from "typebox";
import type { Db } from "../db/database.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { Uuid } from "../projects/schemas.js";
import {
  VARIABLE_LIMITS,
  inheritedVariables,
  listVariables,
  patchVariables,
  projectScope,
  replaceVariables,
  serviceScope,
  type VariableView as Variable,
  type VariablesChange,
} from "./variable-repository.js";

const VariableInput = Type.Object(
  {
    name: Type.String({ description: "`^[A-Za-z_][A-Za-z0-9_]{0,127}$`; PORT and SLIPWAY_* are reserved" }),
    value: Type.Optional(
      Type.String({
        description:
          `At most ${VARIABLE_LIMITS.valueBytes / 1024} KiB (UTF-8), no NUL byte. Omit it for an existing ` +
          "secret to keep its value (so a masked list read with GET can be sent back as it is).",
      }),
    ),
    secret: Type.Optional(
      Type.Boolean({
        description:
          "A secret's value is never shown again. Omitted: the variable's current flag (false when new). " +
          "A secret becomes a plain variable only with a new value.",
      }),
    ),
  },
  { additionalProperties: false },
);

const VariableView = Type.Object({
  name: Type.String(),
  value: Type.Union([Type.String(), Type.Null()], { description: "null for a secret: never shown" }),
  secret: Type.Boolean(),
  scope: Type.Union([Type.Literal("service"), Type.Literal("project")]),
  updatedAt: Type.String({ format: "date-time" }),
});

const VariablesList = Type.Object({
  /** The scope's own variables: what PUT replaces. */
  variables: Type.Array(VariableView),
  inherited: Type.Optional(
    Type.Array(VariableView, {
      description: "On a service: the project's shared variables it gets and does not override",
    }),
  ),
});

const ChangeAnswer = Type.Object({
  variables: Type.Array(VariableView),
  changed: Type.Array(Type.String(), { description: "Names added, changed or removed" }),
  redeployNeeded: Type.Boolean({
    description: "Some service with running replicas has a changed environment; it applies when they are redeployed",
  }),
  redeployServices: Type.Array(Type.String(), { description: "Those services' ids" }),
});

const PutBody = Type.Object(
  {
    variables: Type.Array(VariableInput, {
      description: `The whole set (at most ${VARIABLE_LIMITS.count}, ${VARIABLE_LIMITS.totalBytes / 1024} KiB together); names left out are removed`,
    }),
  },
  { additionalProperties: false },
);

const PatchBody = Type.Object(
  {
    set: Type.Optional(Type.Array(VariableInput, { description: "Variables to add or change" })),
    remove: Type.Optional(Type.Array(Type.String(), { description: "Names to remove (absent ones are ignored)" })),
  },
  { additionalProperties: false },
);

const shown = (v: Variable): Static<typeof VariableView> => ({ ...v, updatedAt: v.updatedAt.toISOString() });

const answer = (change: VariablesChange): Static<typeof ChangeAnswer> => ({
  variables: change.variables.map(shown),
  changed: change.changed,
  redeployNeeded: change.redeployServices.length > 0,
  redeployServices: change.redeployServices,
});

const RULES =
  "Every value is stored encrypted. Bad input (name, reserved name, size, NUL, count, total) answers 400 " +
  "with the reason and changes nothing.";

export const variableRoutes: FastifyPluginAsyncTypebox<{ db: Db; secretBox: SecretBox }> = async (
  app,
  { db, secretBox: box },
) => {
  const ServiceParams = Type.Object({ serviceId: Uuid });
  const ProjectParams = Type.Object({ projectId: Uuid });

  app.get(
    "/services/:serviceId/variables",
    {
      config: { access: "viewer" },
      schema: {
        tags: ["variables"],
        description: "The service's own variables, and the project's it inherits. Secrets are masked.",
        params: ServiceParams,
        response: { 200: VariablesList },
      },
    },
    async (request) => {
      const scope = await serviceScope(db, request.actor.orgId, request.params.serviceId);
      return {
        variables: (await listVariables(db, box, scope)).map(shown),
        inherited: (await inheritedVariables(db, box, scope)).map(shown),
      };
    },
  );

  app.put(
    "/services/:serviceId/variables",
    {
      config: { access: "developer" },
      schema: {
        tags: ["variables"],
        description: `Replaces the service's own variables (they override the project's). ${RULES}`,
        params: ServiceParams,
        body: PutBody,
        response: { 200: ChangeAnswer },
      },
    },
    async (request) => {
      const scope = await serviceScope(db, request.actor.orgId, request.params.serviceId);
      return answer(await replaceVariables(db, box, request.actor, scope, request.body.variables));
    },
  );

  app.patch(
    "/services/:serviceId/variables",
    {
      config: { access: "developer" },
      schema: {
        tags: ["variables"],
        description: `Sets and removes some of the service's own variables. ${RULES}`,
        params: ServiceParams,
        body: PatchBody,
        response: { 200: ChangeAnswer },
      },
    },
    async (request) => {
      const scope = await serviceScope(db, request.actor.orgId, request.params.serviceId);
      return answer(await patchVariables(db, box, request.actor, scope, request.body));
    },
  );

  app.get(
    "/projects/:projectId/variables",
    {
      config: { access: "viewer" },
      schema: {
        tags: ["variables"],
        description: "The variables every service of the project gets unless it overrides them. Secrets are masked.",
        params: ProjectParams,
        response: { 200: VariablesList },
      },
    },
    async (request) => {
      const scope = await projectScope(db, request.actor.orgId, request.params.projectId);
      return { variables: (await listVariables(db, box, scope)).map(shown) };
    },
  );

  app.put(
    "/projects/:projectId/variables",
    {
      config: { access: "developer" },
      schema: {
        tags: ["variables"],
        description: `Replaces the project's shared variables. ${RULES}`,
        params: ProjectParams,
        body: PutBody,
        response: { 200: ChangeAnswer },
      },
    },
    async (request) => {
      const scope = await projectScope(db, request.actor.orgId, request.params.projectId);
      return answer(await replaceVariables(db, box, request.actor, scope, request.body.variables));
    },
  );

  app.patch(
    "/projects/:projectId/variables",
    {
      config: { access: "developer" },
      schema: {
        tags: ["variables"],
        description: `Sets and removes some of the project's shared variables. ${RULES}`,
        params: ProjectParams,
        body: PatchBody,
        response: { 200: ChangeAnswer },
      },
    },
    async (request) => {
      const scope = await projectScope(db, request.actor.orgId, request.params.projectId);
      return answer(await patchVariables(db, box, request.actor, scope, request.body));
    },
  );
};
