// Starts a control plane: HTTP API, gRPC agent service, the work core with its wake-ups and reaper,
// on one database. The only place that wires the gRPC adapter to the rest.
import { Server } from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { AgentServiceService } from "@slipway/proto";
import type { Config } from "./config.js";
import { createDatabase } from "./db/database.js";
import { migrateToLatest } from "./db/migrate.js";
import { buildApp } from "./http/app.js";
import { LogFollowers } from "./builds/log-stream-routes.js";
import { Metrics } from "./metrics/metrics.js";
import { AgentAuthenticator } from "./agents/agent-authenticator.js";
import { AGENT_CHANNEL } from "./agents/enrolment.js";
import { createAgentService } from "./agents/grpc-service.js";
import { NotificationListener } from "./db/notification-listener.js";
import { buildWork } from "./builds/build-work.js";
import { deployWork } from "./deployments/deploy-work.js";
import { sameSessionAgent } from "./work/session-hub.js";
import { ContainerLogStreams } from "./deployments/container-log-streams.js";
import { LOG_CHANNEL } from "./work/sql/append-log.js";
import { startReaper } from "./work/reaper.js";
import { wakeAgents } from "./work/wake-up.js";
import { WorkQueue } from "./work/work-queue.js";
import { GitHubAppStore } from "./github/app-credentials.js";
import { GitHubApi } from "./github/github-api.js";
import { GitHubJobs } from "./jobs/github-jobs.js";
import { secretBoxOf } from "./crypto/secret-box.js";
import { CertificateAuthority } from "./pki/certificate-authority.js";
import { agentChannelCredentials } from "./pki/server-credentials.js";
import { IngressAddresses } from "./ingress/addresses.js";
import { IngressSync } from "./ingress/ingress-sync.js";
import { UpstreamResolver } from "./ingress/upstream-resolver.js";
import { replaceReplicasOfSilentAgents } from "./deployments/replica-inventory.js";
import { every } from "./jobs/periodic.js";

/**
 * The control plane pings each agent every 30 s and drops it after 10 s without an answer. A grpc-js
 * server enforces no ping policy (it reads neither `grpc.http2.min_ping_interval_without_data_ms`
 * nor `grpc.keepalive_permit_without_calls`), so agents' pings are never refused as
 * `too_many_pings`; e2e/keepalive.test.ts holds an idle channel through several rounds to show it.
 */
export const GRPC_SERVER_OPTIONS = {
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.max_receive_message_length": 1024 * 1024,
};

export interface RunningControlPlane {
  httpUrl: string;
  grpcAddress: string;
  stop(): Promise<void>;
}

export function ingressAddressesOf(config: Config): IngressAddresses {
  return new IngressAddresses({
    baseDomain: config.INGRESS_BASE_DOMAIN,
    listen: config.INGRESS_LISTEN,
    https: config.INGRESS_HTTPS === "auto",
  });
}

export async function startControlPlane(
  config: Config,
  options: { migrate?: boolean } = {},
): Promise<RunningControlPlane> {
  const db = createDatabase(config.DATABASE_URL);
  if (options.migrate ?? true) await migrateToLatest(db);
  const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on("error", () => {}); // readiness reports it; the client reconnects by itself
  await redis.connect().catch(() => {});

  const secretBox = secretBoxOf(config);
  const store = new GitHubAppStore(db, config);
  const github = { store, api: new GitHubApi(store, config) };
  const logFollowers = new LogFollowers();
  // Every kind of leased work this control plane hands to agents, in the order agents are offered it.
  const work = new WorkQueue(db, [buildWork({ registryHost: config.REGISTRY_HOST }), deployWork({ secretBox })], {
    leaseSeconds: config.LEASE_SECONDS,
  });
  const hub = work.sessions;
  const metrics = new Metrics(db, work.kinds, () => hub.connectedAgents);
  const authenticator = new AgentAuthenticator(db);
  const ingressAddresses = ingressAddressesOf(config);
  const containerLogs = new ContainerLogStreams(hub, { redisUrl: config.REDIS_URL });
  await containerLogs.start();
  const app = await buildApp({
    config,
    db,
    redis,
    github,
    logFollowers,
    metrics,
    secretBox,
    ingressAddresses,
    containerLogs,
    // At once for this process's next call; the NOTIFY that follows reaches every control plane.
    onAgentChanged: (agentId) => authenticator.forget(agentId),
  });
  const listener = new NotificationListener(config.DATABASE_URL);
  wakeAgents(listener, db, work.kinds, hub);
  listener.subscribe(LOG_CHANNEL, (workId) => logFollowers.notify(workId));
  listener.subscribe(AGENT_CHANNEL, (agentId) => {
    authenticator.forget(agentId);
    hub.endSessions(agentId);
  });
  listener.on("reconnected", () => {
    logFollowers.notifyAll();
    authenticator.forgetAll();
    // Agents changed or revoked while we were deaf still have sessions as they were: check each.
    void recheckSessions();
  });
  async function recheckSessions(): Promise<void> {
    for (const connected of hub.sessionAgents()) {
      const now = await authenticator.authenticate(connected.id).catch(() => connected);
      if (!now || !sameSessionAgent(now, connected)) hub.endSessions(connected.id);
    }
  }
  listener.on("error", (error) =>
    app.log.warn({ err: error }, "notification listener lost its connection; reconnecting"),
  );
  const upstreamResolver =
    config.INGRESS_CADDY_ADMIN.length > 0
      ? new UpstreamResolver({ listen: config.INGRESS_RESOLVER_LISTEN, refreshMs: config.INGRESS_UPSTREAM_REFRESH_MS })
      : undefined;
  const ownResolverAddress = await upstreamResolver?.start();
  const ingress = new IngressSync(
    db,
    {
      caddyAdmins: config.INGRESS_CADDY_ADMIN,
      addresses: ingressAddresses,
      resyncSeconds: config.INGRESS_RESYNC_SECONDS,
      resolver: upstreamResolver && {
        instance: upstreamResolver,
        addresses:
          config.INGRESS_RESOLVER_ADDRESSES.length > 0
            ? config.INGRESS_RESOLVER_ADDRESSES
            : [ownResolverAddress as string],
        refreshMs: config.INGRESS_UPSTREAM_REFRESH_MS,
      },
    },
    app.log,
  );
  ingress.start(listener);
  await listener.start();

  const ca = await CertificateAuthority.loadOrCreate(db, secretBox);
  const tls = await agentChannelCredentials(ca, (error) =>
    app.log.error({ err: error }, "could not renew the agent channel's server certificate; retrying within the hour"),
  );
  const grpc = new Server(GRPC_SERVER_OPTIONS);
  grpc.addService(
    AgentServiceService,
    createAgentService({
      db,
      work,
      ca,
      agentCertificateSeconds: config.AGENT_CERTIFICATE_SECONDS,
      authenticator,
      metrics,
      github: github.api,
      log: app.log,
      containerLogs,
    }),
  );
  // TLS even inside the WireGuard mesh: the mesh proves a host, the certificate proves an agent.
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync(`${config.GRPC_HOST}:${config.GRPC_PORT}`, tls.credentials, (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
  const extended = await work.extendLiveLeases();
  if (extended > 0) app.log.info({ extended }, "extended live leases once after start-up");
  const stopReaper = startReaper(work, app.log, config.REAPER_INTERVAL_SECONDS, metrics);
  const stopReplicaWatch = every(
    config.REAPER_INTERVAL_SECONDS,
    async () => {
      const replaced = await replaceReplicasOfSilentAgents(db, config.REPLICA_LOST_SECONDS);
      if (replaced.length > 0)
        app.log.warn(
          { deployments: replaced.map((d) => d.id) },
          "replicas on silent agents lost; deploying them again",
        );
    },
    app.log,
    "replica watch",
  );
  const githubJobs = new GitHubJobs(
    db,
    github.api,
    {
      redisUrl: config.REDIS_URL,
      databaseUrl: config.DATABASE_URL,
      publicUrl: config.PUBLIC_URL,
      intervalSeconds: config.GITHUB_SYNC_INTERVAL_SECONDS,
    },
    app.log,
  );
  await githubJobs.start();
  const httpUrl = await app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  app.log.info({ httpUrl, grpcPort }, "control plane ready");

  return {
    httpUrl,
    grpcAddress: `${config.GRPC_HOST}:${grpcPort}`,
    async stop() {
      await stopReaper();
      await stopReplicaWatch();
      await ingress.stop();
      await upstreamResolver?.stop();
      tls.stop();
      await githubJobs.stop();
      hub.closeAll();
      await containerLogs.stop();
      await new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
      await app.close();
      await listener.stop();
      redis.disconnect();
      await db.destroy();
    },
  };
}
