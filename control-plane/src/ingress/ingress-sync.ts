// Keeps every configured Caddy routing each service's host names to its serving replicas (deploy
// items `running`: they passed their health check). Woken by NOTIFY when a replica starts or stops
// serving or host names change, and every few seconds in case a hint was lost or Caddy restarted.
//
// Each pass hands the serving replicas to this control plane's upstream resolver (where Caddy learns
// them, upstream-resolver.ts) before it applies the routes, so a route Caddy starts using already
// has its replicas. A replica that left the answers is marked `unrouted_at` as of when Caddy's
// cached answers with it run out: from then on its drain period counts, and after it the agent's
// container reconciler removes the container (deployments/replica-inventory.ts). Passes run one at
// a time across all control planes (an advisory lock), so an older view of the routes never
// overwrites a newer one.
import { sql } from "kysely";
import type { FastifyBaseLogger } from "fastify";
import type { Db } from "../db/database.js";
import type { NotificationListener } from "../db/notification-listener.js";
import type { IngressAddresses } from "./addresses.js";
import { CaddyAdmin } from "./caddy-admin.js";
import { caddyServer, type ServiceRoute } from "./caddy-config.js";
import type { UpstreamResolver } from "./upstream-resolver.js";

export const INGRESS_CHANNEL = "slipway_ingress";
const INGRESS_LOCK = sql`hashtext('slipway.ingress')`;

export interface IngressSyncOptions {
  /** Caddy admin addresses; none: replicas are still marked unrouted, so drains proceed. */
  caddyAdmins: readonly string[];
  addresses: IngressAddresses;
  resyncSeconds: number;
  /** Answers Caddy's questions for replicas; absent without Caddy. */
  resolver?: { instance: UpstreamResolver; addresses: readonly string[]; refreshMs: number };
}

export class IngressSync {
  private readonly admins: CaddyAdmin[];
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    private readonly db: Db,
    private readonly options: IngressSyncOptions,
    private readonly log: FastifyBaseLogger,
  ) {
    this.admins = options.caddyAdmins.map((address) => new CaddyAdmin(address));
  }

  start(listener: NotificationListener): void {
    listener.subscribe(INGRESS_CHANNEL, () => this.poke());
    listener.on("reconnected", () => this.poke());
    this.timer = setInterval(() => this.poke(), this.options.resyncSeconds * 1000);
    this.timer.unref();
    this.poke();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.again = false;
    await this.running;
  }

  /** Runs a pass soon; passes asked for while one runs become one more pass after it. */
  poke(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.syncOnce()
      .then(
        () => {
          if (this.failing) this.log.info("ingress routes applied again");
          this.failing = false;
        },
        (error: unknown) => {
          // Logged once per outage; the periodic pass retries.
          if (!this.failing) this.log.error({ err: error }, "could not apply ingress routes; retrying");
          this.failing = true;
        },
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  /** One pass: read the routes, apply them to every Caddy, mark replicas no longer routed. */
  async syncOnce(): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${INGRESS_LOCK})`.execute(trx);
      const rows = await sql<{ service_id: string; label: string; domains: string[]; upstreams: Upstream[] }>`
        SELECT s.id AS service_id, s.ingress_label AS label,
          coalesce((SELECT array_agg(host) FROM service_domains WHERE service_id = s.id), '{}') AS domains,
          coalesce((SELECT json_agg(json_build_object('item', i.id, 'dial', i.endpoint_host || ':' || i.endpoint_port))
                    FROM deployments d JOIN deploy_work_items i ON i.deployment_id = d.id
                    WHERE d.service_id = s.id AND i.status = 'running' AND i.endpoint_host IS NOT NULL), '[]') AS upstreams
        FROM services s ORDER BY s.ingress_label`.execute(trx);
      const routes: ServiceRoute[] = rows.rows.map((row) => ({
        serviceId: row.service_id,
        hosts: [this.options.addresses.hostOf(row.label), ...row.domains],
        upstreams: row.upstreams.map((u) => u.dial),
      }));
      const resolver = this.options.resolver;
      resolver?.instance.setUpstreams(new Map(routes.map((route) => [route.serviceId, route.upstreams])));
      if (resolver) {
        const server = caddyServer(routes, {
          ...this.options.addresses.options,
          resolvers: resolver.addresses,
          refreshMs: resolver.refreshMs,
        });
        for (const admin of this.admins) await admin.apply(server);
      }
      const routed = rows.rows.flatMap((row) => row.upstreams.map((u) => u.item));
      // Caddy may still pick a replica from an answer it cached just before this pass.
      await sql`
        UPDATE deploy_work_items
        SET unrouted_at = now() + make_interval(secs => ${(resolver?.refreshMs ?? 0) / 1000})
        WHERE unrouted_at IS NULL AND endpoint_host IS NOT NULL AND status <> 'running'
          AND id <> ALL(${routed}::uuid[])`.execute(trx);
    });
  }
}

interface Upstream {
  item: string;
  dial: string;
}
