import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type, type Static } from "typebox";
import type { Db } from "../db/database.js";
import type { Agent } from "../db/schema.js";
import type { Actor } from "../auth/bootstrap-auth.js";
import { NAME_PATTERN } from "../patterns.js";
import { notFound } from "../errors.js";
import { Uuid } from "../projects/schemas.js";
import { AgentLabels } from "./agent-labels.js";
import { createAgent, listAgents, relabelAgent, revokeAgent, setDrained } from "./enrolment.js";

const AgentView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  capabilities: Type.Array(Type.String()),
  labels: Type.Record(Type.String(), Type.String()),
  slots: Type.Integer(),
  hostname: Type.Union([Type.String(), Type.Null()]),
  enrolledAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  lastSeenAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  drainedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  /** The newest certificate issued to the agent (at enrolment or rotation). */
  certificateSerial: Type.Union([Type.String(), Type.Null()]),
  certificateExpiresAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
});

const agentView = (a: Agent): Static<typeof AgentView> => ({
  id: a.id,
  name: a.name,
  capabilities: a.capabilities,
  labels: a.labels,
  slots: a.slots,
  hostname: a.hostname,
  enrolledAt: a.enrolled_at ? a.enrolled_at.toISOString() : null,
  lastSeenAt: a.last_seen_at ? a.last_seen_at.toISOString() : null,
  revokedAt: a.revoked_at ? a.revoked_at.toISOString() : null,
  drainedAt: a.drained_at ? a.drained_at.toISOString() : null,
  certificateSerial: a.certificate_serial,
  certificateExpiresAt: a.certificate_expires_at ? a.certificate_expires_at.toISOString() : null,
});

export const agentRoutes: FastifyPluginAsyncTypebox<{ db: Db; onAgentChanged: (agentId: string) => void }> = async (
  app,
  { db, onAgentChanged },
) => {
  app.post(
    "/agents",
    {
      config: { access: "admin" },
      schema: {
        tags: ["agents"],
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 63, pattern: NAME_PATTERN }),
            capabilities: Type.Array(
              Type.Union([Type.Literal("build"), Type.Literal("deploy"), Type.Literal("remediate")]),
              {
                minItems: 1,
              },
            ),
            labels: Type.Optional(AgentLabels),
            slots: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            agent: AgentView,
            /** Shown once: the agent spends it with `slipway-agent join`. */
            joinToken: Type.String(),
          }),
        },
      },
    },
    async (request, reply) => {
      const { agent, joinToken } = await createAgent(db, request.actor, request.body);
      return reply.status(201).send({ agent: agentView(agent), joinToken });
    },
  );

  app.get(
    "/agents",
    { config: { access: "viewer" }, schema: { tags: ["agents"], response: { 200: Type.Array(AgentView) } } },
    async (request) => (await listAgents(db, request.actor.orgId)).map(agentView),
  );

  const agentAction = (path: string, act: (request: { actor: Actor; id: string }) => Promise<Agent | undefined>) =>
    app.post(
      `/agents/:agentId/${path}`,
      {
        config: { access: "admin" },
        schema: { tags: ["agents"], params: Type.Object({ agentId: Uuid }), response: { 200: AgentView } },
      },
      async (request) => {
        const agent = await act({ actor: request.actor, id: request.params.agentId });
        if (!agent) throw notFound(`agent ${request.params.agentId}`);
        // This control plane forgets it at once; the others hear the NOTIFY.
        onAgentChanged(agent.id);
        return agentView(agent);
      },
    );
  app.patch(
    "/agents/:agentId",
    {
      config: { access: "admin" },
      schema: {
        tags: ["agents"],
        params: Type.Object({ agentId: Uuid }),
        body: Type.Object({ labels: AgentLabels }, { additionalProperties: false }),
        response: { 200: AgentView },
      },
    },
    async (request) => {
      const agent = await relabelAgent(db, request.actor, request.params.agentId, request.body.labels);
      if (!agent) throw notFound(`agent ${request.params.agentId}`);
      onAgentChanged(agent.id);
      return agentView(agent);
    },
  );

  // Drain: finish running work, claim nothing new (e.g. before a host's maintenance).
  agentAction("drain", ({ actor, id }) => setDrained(db, actor, id, true));
  agentAction("undrain", ({ actor, id }) => setDrained(db, actor, id, false));
  agentAction("revoke", ({ actor, id }) => revokeAgent(db, actor, id));
};
