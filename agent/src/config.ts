// The agent's configuration, read once from the environment at start-up. A missing or malformed
// value stops the process with one line naming the variable.
import { z } from "zod";

const schema = z.object({
  /** host:port of the control plane's gRPC agent service. */
  SLIPWAY_SERVER: z.string().regex(/^[^\s/:]+:\d{1,5}$/, "must be host:port"),
  /** A one-time join token; read from the environment, never from argv. Needed only on first start. */
  SLIPWAY_JOIN_TOKEN: z.string().min(1).optional(),
  /** Where the agent keeps its identity (0600) and work directories. */
  SLIPWAY_STATE_DIR: z.string().min(1).default("/var/lib/slipway-agent"),
  /** The Docker-compatible API socket of podman (or Docker), for running containers. */
  CONTAINER_SOCKET: z.string().min(1).default("/run/podman/podman.sock"),
  /** The address replicas' ports are published on, and reported to the control plane. */
  PUBLISH_HOST: z.ipv4().default("127.0.0.1"),
  /** How often leases are renewed; keep well under the control plane's LEASE_SECONDS. */
  HEARTBEAT_SECONDS: z.coerce.number().min(0.1).max(600).default(10),
  /** How often the agent asks for work even without a hint on its session stream. */
  POLL_SECONDS: z.coerce.number().min(0.1).max(600).default(5),
  /** Seconds between SIGTERM and SIGKILL when work or a replica's container is stopped. */
  KILL_GRACE_SECONDS: z.coerce.number().min(0).max(600).default(10),
  /** How many builds this agent runs at once. */
  SLIPWAY_BUILD_SLOTS: z.coerce.number().int().min(1).max(64).default(2),
  /**
   * How many replicas this agent starts at once, apart from its builds: a deploy never waits for a
   * build slot, nor a build for a deploy.
   */
  SLIPWAY_DEPLOY_SLOTS: z.coerce.number().int().min(1).max(64).default(4),
  /** How often the agent reports its Slipway containers and removes those no deployment wants. */
  INVENTORY_SECONDS: z.coerce.number().min(0.1).max(600).default(5),
  /** Work kinds this agent asks for; the control plane also checks its enrolled capabilities. */
  SLIPWAY_WORK_KINDS: z
    .string()
    .default("build,deploy")
    .transform((value) => value.split(",").map((kind) => kind.trim()))
    .pipe(z.array(z.enum(["build", "deploy"])).min(1)),
});

export type AgentConfig = z.infer<typeof schema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues
      .map((issue) => {
        const name = String(issue.path[0] ?? "environment");
        return `config: ${name} ${env[name] === undefined ? "is required but not set" : issue.message}`;
      })
      .join("\n"),
  );
}
