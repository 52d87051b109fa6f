// The control plane's whole configuration, read once from the environment at start-up.
// A missing or malformed value stops the process with one line naming the variable.
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);

const base64Pem = z.string().transform((value, ctx) => {
  const pem = Buffer.from(value, "base64").toString("utf8");
  if (!pem.includes("-----BEGIN") || !pem.includes("PRIVATE KEY-----")) {
    ctx.addIssue({ code: "custom", message: "must be a base64-encoded PEM private key" });
    return z.NEVER;
  }
  return pem;
});

/** A comma-separated list (blanks ignored, empty by default) whose every item passes `item`. */
const commaList = (item: z.ZodType<string, string>) =>
  z
    .string()
    .default("")
    .transform((value) =>
      value
        .split(",")
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));

const schema = z
  .object({
    /** PostgreSQL connection string; the single source of truth. */
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// URL" }),
    /** Redis, for BullMQ side effects and readiness. */
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: "must be a redis:// URL" }),
    /** HTTP API, webhooks and the dashboard. */
    HTTP_HOST: z.string().default("127.0.0.1"),
    HTTP_PORT: port.default(8080),
    /** The gRPC agent channel. */
    GRPC_HOST: z.string().default("127.0.0.1"),
    GRPC_PORT: port.default(8081),
    /** The URL users reach the control plane at; used in links. */
    PUBLIC_URL: z.url().default("http://127.0.0.1:8080"),
    /**
     * The GitHub App, configured here or created from the dashboard (manifest flow, stored encrypted).
     * GITHUB_WEBHOOK_SECRET verifies X-Hub-Signature-256; an app created by manifest brings its own.
     */
    GITHUB_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
    GITHUB_APP_ID: z.coerce.number().int().positive().optional(),
    GITHUB_APP_PRIVATE_KEY: base64Pem.optional(),
    /** Needed for the installation flow (user authorization) when the app is configured here. */
    GITHUB_APP_CLIENT_ID: z.string().min(1).optional(),
    GITHUB_APP_CLIENT_SECRET: z.string().min(1).optional(),
    GITHUB_API_URL: z.url().default("https://api.github.com"),
    /** github.com itself: app creation and user authorization pages. */
    GITHUB_WEB_URL: z.url().default("https://github.com"),
    /**
     * 32 bytes, base64: seals secrets stored in the database (the agent channel CA's key, the GitHub
     * App's key and secrets). Every control plane on one database needs the same one.
     */
    SLIPWAY_SECRET_KEY: z
      .string()
      .refine((value) => Buffer.from(value, "base64").length === 32, "must be 32 bytes, base64-encoded"),
    /**
     * Keys values may still be sealed under while a rotation is under way: comma-separated, each 32
     * bytes base64, at most 8. Values open with SLIPWAY_SECRET_KEY first, then these; after
     * `slipway-control-plane rotate-secrets` re-sealed everything under the current key, drop them.
     */
    SLIPWAY_SECRET_KEY_PREVIOUS: commaList(
      z
        .string()
        .refine((value) => Buffer.from(value, "base64").length === 32, "must hold 32-byte keys, base64-encoded"),
    ).refine((keys) => keys.length <= 8, "may hold at most 8 keys"),
    /** How often GitHub Deployments are brought in step with builds. */
    GITHUB_SYNC_INTERVAL_SECONDS: z.coerce.number().min(0.2).max(3600).default(2),
    /** Images are pushed to {REGISTRY_HOST}/{project_id}/{service_id}:{commit_sha}. */
    REGISTRY_HOST: z
      .string()
      .regex(/^[a-z0-9.-]+(:\d{1,5})?$/i, "must be a host name with an optional :port")
      .default("registry.internal"),
    /** Authenticates the bootstrap admin until the dashboard brings users. */
    SLIPWAY_BOOTSTRAP_TOKEN: z.string().min(32, "must be at least 32 characters"),
    /** How long an agent's client certificate is valid; agents renew theirs after two thirds of it. */
    AGENT_CERTIFICATE_SECONDS: z.coerce
      .number()
      .int()
      .min(3)
      .max(365 * 24 * 3600)
      .default(7 * 24 * 3600),
    /** How long a claim lives without a heartbeat. */
    LEASE_SECONDS: z.coerce.number().int().min(5).max(3600).default(60),
    /** How often the reaper looks for expired leases. */
    REAPER_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
    /** Every service answers at `<service>-<project>.<INGRESS_BASE_DOMAIN>`. */
    INGRESS_BASE_DOMAIN: z
      .string()
      .regex(/^(?=.{1,200}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, "must be a DNS name")
      .default("localhost"),
    /** Where Caddy listens for the services' traffic, [host]:port. */
    INGRESS_LISTEN: z
      .string()
      .regex(/^[^\s/]*:\d{1,5}$/, "must be [host]:port")
      .default(":80"),
    /** `auto`: Caddy obtains certificates for public names and serves HTTPS; `off`: plain HTTP. */
    INGRESS_HTTPS: z.enum(["auto", "off"]).default("off"),
    /**
     * The admin API of each Caddy that routes the services (comma-separated `unix:/path` or
     * `http://host:port`). Empty: no ingress (replicas are still drained before they stop).
     */
    INGRESS_CADDY_ADMIN: commaList(
      z.string().regex(/^(unix:\/\S+|http:\/\/[^\s/]+\/?)$/, "must be unix:/path or http://host:port"),
    ),
    /**
     * Where this control plane answers Caddy's DNS questions for each service's serving replicas
     * (DNS over TCP, host:port; port 0 picks one). Started only with INGRESS_CADDY_ADMIN.
     */
    INGRESS_RESOLVER_LISTEN: z
      .string()
      .regex(/^[^\s/]+:\d{1,5}$/, "must be host:port")
      .default("127.0.0.1:8053"),
    /**
     * The resolvers Caddy asks (comma-separated tcp/host:port), the same list on every control
     * plane: each control plane's INGRESS_RESOLVER_LISTEN as Caddy's host reaches it. Empty: this
     * control plane's own.
     */
    INGRESS_RESOLVER_ADDRESSES: commaList(z.string().regex(/^tcp\/[^\s/]+:\d{1,5}$/, "must be tcp/host:port")),
    /** How long Caddy keeps an answer: a replica leaving the route can get requests this long. */
    INGRESS_UPSTREAM_REFRESH_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
    /** How often routes are applied again even without a change (a restarted Caddy gets them back). */
    INGRESS_RESYNC_SECONDS: z.coerce.number().min(0.5).max(3600).default(10),
    /** Replicas of an agent silent this long are started again on agents that answer. */
    REPLICA_LOST_SECONDS: z.coerce
      .number()
      .int()
      .min(5)
      .max(24 * 3600)
      .default(60),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .superRefine((config, ctx) => {
    // An app configured through the environment needs its id with its key, its client id with its secret.
    const pairs = [
      ["GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY"],
      ["GITHUB_APP_CLIENT_ID", "GITHUB_APP_CLIENT_SECRET"],
    ] as const;
    for (const [a, b] of pairs) {
      if ((config[a] === undefined) !== (config[b] === undefined)) {
        const missing = config[a] === undefined ? a : b;
        ctx.addIssue({
          code: "custom",
          path: [missing],
          message: `is required together with ${missing === a ? b : a}`,
        });
      }
    }
  });

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment; throws a ConfigError whose message names every bad variable, one per line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? "environment");
    const message = env[name] === undefined && issue.code !== "custom" ? "is required but not set" : issue.message;
    return `config: ${name} ${message}`;
  });
  throw new ConfigError(lines.join("\n"));
}
