// The HTTP application as a plugin tree. It only builds the app; server.ts listens. Tests call
// buildApp() and app.inject() without opening a port.
//
// Layers: error handling → public routes (health, webhooks, sign-in, static page) → the authenticated API.
// A route is protected by being registered inside the API context, never by matching its URL; every
// /api route declares `config.access` (auth/access.ts), checked by the API context's one hook.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Fastify, { type FastifyInstance } from "fastify";
import fastifyCookie from "@fastify/cookie";
import fastifyStatic from "@fastify/static";
import fastifySwagger from "@fastify/swagger";
import type { Redis } from "ioredis";
import type { Config } from "../config.js";
import type { Db } from "../db/database.js";
import { requireAuthentication } from "../auth/bootstrap-auth.js";
import { sessionRoutes } from "../auth/session-routes.js";
import { peopleRoutes } from "../auth/people-routes.js";
import type { Access } from "../auth/access.js";
import type { GitHubAppStore } from "../github/app-credentials.js";
import type { GitHubApi } from "../github/github-api.js";
import { agentRoutes } from "../agents/routes.js";
import { buildRoutes } from "../builds/routes.js";
import { LogFollowers, logStreamRoutes } from "../builds/log-stream-routes.js";
import { deploymentRoutes } from "../deployments/routes.js";
import { containerLogRoutes } from "../deployments/container-log-routes.js";
import { ContainerLogStreams } from "../deployments/container-log-streams.js";
import { SessionHub } from "../work/session-hub.js";
import { deliveryRoutes } from "../github/deliveries-routes.js";
import { githubWebhookRoutes } from "../github/webhook-routes.js";
import { PushRecorder } from "../github/push-recorder.js";
import { WorkWaker } from "../work/wake-up.js";
import { githubSetupRoutes } from "../github/setup-routes.js";
import { projectRoutes } from "../projects/routes.js";
import { variableRoutes } from "../settings/routes.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { installErrorHandler } from "./error-handler.js";
import type { Metrics } from "../metrics/metrics.js";
import { healthRoutes } from "./health-routes.js";
import { IngressAddresses } from "../ingress/addresses.js";

/** The dashboard as Vite built it (`pnpm run build`); pages it routes itself fall back to its index.html. */
export const WEB_ROOT = fileURLToPath(new URL("../../../web/dist/", import.meta.url));

export type AppConfig = Pick<Config, "SLIPWAY_BOOTSTRAP_TOKEN" | "LOG_LEVEL" | "PUBLIC_URL" | "GITHUB_WEB_URL">;

export interface AppDeps {
  config: AppConfig;
  db: Db;
  redis: Redis;
  /** Wakes live log streams; fed by the LISTEN connection (absent in tests that need no live logs). */
  logFollowers?: LogFollowers;
  metrics: Metrics;
  github: { store: GitHubAppStore; api: GitHubApi };
  /** Seals and opens what the API stores encrypted (services' variables). */
  secretBox: SecretBox;
  /** Called when an agent is revoked, drained or undrained through this control plane. */
  onAgentChanged?: (agentId: string) => void;
  /** Replicas' container logs through the agents holding them (none connected when not given). */
  containerLogs?: ContainerLogStreams;
  /** Where services are reached (their `url`); plain http://<label>.localhost when not given. */
  ingressAddresses?: IngressAddresses;
  /** Where log lines go (stdout when not given); tests read them to show no secret is logged. */
  logStream?: { write(line: string): void };
}

/** A request's URL as logged: an invitation's token is a credential, so it is left out. */
export const loggedUrl = (url: string) =>
  url.replace(/\/api\/invitations\/(?!\[token\])[^/?]+/, "/api/invitations/[token]");

/** A registered route and who may call it. */
export interface RouteAccess {
  method: string;
  url: string;
  access: Access;
}

declare module "fastify" {
  interface FastifyInstance {
    routeAccess: readonly RouteAccess[];
  }
}

export async function buildApp({
  config,
  db,
  redis,
  github,
  logFollowers,
  metrics,
  secretBox,
  onAgentChanged,
  containerLogs = new ContainerLogStreams(new SessionHub()),
  ingressAddresses = new IngressAddresses({ baseDomain: "localhost", listen: ":80", https: false }),
  logStream,
}: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Live log streams stay open; closing the server must not wait for their clients.
    forceCloseConnections: true,
    logger: {
      level: config.LOG_LEVEL,
      // Credentials travel in headers; never let them reach a log line.
      redact: ["req.headers.authorization", "req.headers.cookie", 'req.headers["x-hub-signature-256"]'],
      serializers: {
        req: (request: { method: string; url: string; host?: string; ip?: string }) => ({
          method: request.method,
          url: loggedUrl(request.url),
          host: request.host,
          remoteAddress: request.ip,
        }),
      },
      ...(logStream ? { stream: logStream } : {}),
    },
    // Validation errors name the field: "body/name must match pattern ...".
    ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", useDefaults: true } },
  });
  const dashboardBuilt = existsSync(join(WEB_ROOT, "index.html"));
  installErrorHandler(app, { spaFallback: dashboardBuilt });
  // Every route of the API says who may call it (auth/access.ts); one without a declaration is a bug
  // that must not start. The list serves the route × role test.
  const routeAccess: RouteAccess[] = [];
  app.decorate("routeAccess", routeAccess);
  app.addHook("onRoute", (route) => {
    if (!route.url.startsWith("/api/") && route.url !== "/metrics") return;
    const access = route.config?.access;
    if (access === undefined) throw new Error(`route ${String(route.method)} ${route.url} declares no config.access`);
    for (const method of [route.method].flat()) routeAccess.push({ method, url: route.url, access });
  });
  await app.register(fastifyCookie);

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: "Slipway API", version: "1" },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(healthRoutes, { db, redis });
  const pushes = new PushRecorder(db, new WorkWaker(db));
  await app.register(githubWebhookRoutes, { prefix: "/api", db, appStore: github.store, metrics, pushes });
  await app.register(sessionRoutes, {
    prefix: "/api",
    db,
    bootstrapToken: config.SLIPWAY_BOOTSTRAP_TOKEN,
    secureCookies: config.PUBLIC_URL.startsWith("https:"),
  });
  if (dashboardBuilt) {
    await app.register(fastifyStatic, { root: WEB_ROOT, prefix: "/", index: ["index.html"] });
  } else {
    // A control plane run from a checkout whose dashboard was not built still answers its API.
    app.log.warn({ root: WEB_ROOT }, "the dashboard is not built (pnpm run build); serving the API only");
    app.get("/", { schema: { hide: true } }, async (_request, reply) =>
      reply.type("text/plain").send("Slipway: the dashboard is not built (run pnpm run build); the API is at /api.\n"),
    );
  }

  await app.register(
    async (api) => {
      await api.register(requireAuthentication, { bootstrapToken: config.SLIPWAY_BOOTSTRAP_TOKEN, db });
      api.get("/docs/json", { config: { access: "viewer" }, schema: { hide: true } }, async () => app.swagger());
      await api.register(peopleRoutes, { db, publicUrl: config.PUBLIC_URL });
      await api.register(projectRoutes, {
        db,
        githubApi: github.api,
        githubWebUrl: config.GITHUB_WEB_URL,
        addresses: ingressAddresses,
      });
      await api.register(buildRoutes, { db, metrics });
      await api.register(logStreamRoutes, { db, followers: logFollowers ?? new LogFollowers() });
      await api.register(deploymentRoutes, { db });
      await api.register(containerLogRoutes, { db, streams: containerLogs });
      await api.register(variableRoutes, { db, secretBox });
      await api.register(agentRoutes, { db, onAgentChanged: onAgentChanged ?? (() => {}) });
      await api.register(deliveryRoutes, { db });
      await api.register(githubSetupRoutes, {
        db,
        store: github.store,
        api: github.api,
        publicUrl: config.PUBLIC_URL,
        githubWebUrl: config.GITHUB_WEB_URL,
      });
    },
    { prefix: "/api" },
  );

  // Prometheus scrapes with the bearer token, like any other API client.
  await app.register(async (scrape) => {
    await scrape.register(requireAuthentication, { bootstrapToken: config.SLIPWAY_BOOTSTRAP_TOKEN, db });
    scrape.get("/metrics", { config: { access: "viewer" }, schema: { hide: true } }, async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    );
  });

  return app;
}
