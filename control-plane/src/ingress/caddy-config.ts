// The Caddy server Slipway owns (`apps.http.servers.slipway`), as JSON for Caddy's admin API: one
// route per service matching its host names, proxying to the replicas that passed their health
// check. A service with none answers 503; an unknown host 404. Caddy learns which replicas serve
// from Slipway's upstream resolver (SRV records, upstream-resolver.ts), so the configuration, and
// with it Caddy's listener and connections, stays as it is while replicas come and go.
import { upstreamsName } from "./upstream-resolver.js";

export interface ServiceRoute {
  serviceId: string;
  hosts: string[];
  /** host:port of each serving replica, as its agent reported it. */
  upstreams: string[];
}

export interface CaddyServerOptions {
  listen: string;
  https: boolean;
  /** Where Caddy asks for replicas: the control planes' upstream resolvers (`tcp/host:port`). */
  resolvers: readonly string[];
  /** How long Caddy keeps an answer. */
  refreshMs: number;
}

export const SLIPWAY_SERVER = "slipway";

export function caddyServer(routes: readonly ServiceRoute[], options: CaddyServerOptions): Record<string, unknown> {
  return {
    listen: [options.listen],
    routes: [
      ...routes.filter((r) => r.hosts.length > 0).map((route) => serviceRoute(route, options)),
      {
        handle: [{ handler: "static_response", status_code: 404, body: "No service answers at this address.\n" }],
        terminal: true,
      },
    ],
    ...(options.https ? {} : { automatic_https: { disable: true } }),
  };
}

function serviceRoute(route: ServiceRoute, options: CaddyServerOptions): Record<string, unknown> {
  const resolver = { addresses: [...options.resolvers] };
  return {
    "@id": `slipway-service-${route.serviceId}`,
    match: [{ host: [...route.hosts].sort() }],
    handle:
      route.upstreams.length === 0
        ? [{ handler: "static_response", status_code: 503, body: "No replica of this service is running.\n" }]
        : [
            {
              handler: "reverse_proxy",
              dynamic_upstreams: {
                source: "srv",
                name: upstreamsName(route.serviceId),
                refresh: `${options.refreshMs}ms`,
                resolver,
              },
              // Replica targets are names the same resolver answers.
              transport: { protocol: "http", resolver },
              load_balancing: {
                selection_policy: { policy: "round_robin" },
                // A replica that stops answering (its host died, it crashed) costs a retry on
                // another one, not a failed request: refused connections are always safe to retry.
                try_duration: "5s",
                try_interval: "100ms",
              },
              health_checks: { passive: { fail_duration: "10s", max_fails: 1 } },
            },
          ],
    terminal: true,
  };
}
