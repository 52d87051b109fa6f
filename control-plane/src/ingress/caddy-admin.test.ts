// The ingress against a real Caddy: routes applied through the admin API take effect at once, the
// same routes applied again change nothing, replicas come and go through the upstream resolver
// without any change to Caddy's configuration, and neither kind of change fails a request.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../../test-support/api.js";
import { getThroughIngress, startCaddy, type TestCaddy } from "../../../test-support/caddy.js";
import { trafficDuring } from "../../../test-support/traffic.js";
import { CaddyAdmin } from "./caddy-admin.js";
import { caddyServer, type ServiceRoute } from "./caddy-config.js";
import { UpstreamResolver } from "./upstream-resolver.js";

const REFRESH_MS = 200;

describe("Caddy through its admin API, with replicas from the upstream resolver", () => {
  let caddy: TestCaddy;
  let admin: CaddyAdmin;
  let resolver: UpstreamResolver;
  let resolverAddress: string;
  const replicas: { server: Server; dial: string }[] = [];

  beforeAll(async () => {
    caddy = await startCaddy();
    admin = new CaddyAdmin(caddy.adminAddress);
    resolver = new UpstreamResolver({ listen: "127.0.0.1:0", refreshMs: REFRESH_MS });
    resolverAddress = await resolver.start();
    for (const name of ["one", "two"]) {
      const server = createServer((_req, res) => res.end(name));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      replicas.push({ server, dial: `127.0.0.1:${(server.address() as { port: number }).port}` });
    }
  });
  afterAll(async () => {
    await caddy?.stop();
    await resolver?.stop();
    for (const { server } of replicas) server.close();
  });

  const at = (host: string) => `http://${host}:${caddy.port}/`;
  const dial = (index: number) => replicas[index]?.dial ?? "";
  /** What an ingress pass does: replicas to the resolver first, then the routes to Caddy. */
  const sync = (routes: ServiceRoute[]) => {
    resolver.setUpstreams(new Map(routes.map((r) => [r.serviceId, r.upstreams])));
    return admin.apply(
      caddyServer(routes, { listen: caddy.listen, https: false, resolvers: [resolverAddress], refreshMs: REFRESH_MS }),
    );
  };
  const shop = (upstreams: string[], hosts = ["web-shop.localhost"]): ServiceRoute => ({
    serviceId: "0b6f2a43-7d1e-4c55-9a11-3f0c2b9e8d70",
    hosts,
    upstreams,
  });

  const api: ServiceRoute = {
    serviceId: "5e0c7a1d-2b3f-4a6e-8c9d-1f2e3a4b5c6d",
    hosts: ["api-shop.localhost"],
    upstreams: [],
  };

  it("routes each service's host names to its replicas, 503 without replicas, 404 for unknown hosts", async () => {
    const routes = [shop([dial(0)], ["web-shop.localhost", "shop.example.com"]), api];
    expect(await sync(routes)).toBe("changed");
    expect(await getThroughIngress(at("web-shop.localhost"))).toEqual({ status: 200, body: "one" });
    expect(await getThroughIngress(at("shop.example.com"))).toEqual({ status: 200, body: "one" });
    expect((await getThroughIngress(at("api-shop.localhost"))).status).toBe(503);
    expect((await getThroughIngress(at("other.localhost"))).status).toBe(404);
    // Applying what Caddy already has does not touch it.
    expect(await sync(routes)).toBe("unchanged");
  });

  it("moves a service to new replicas without changing Caddy's configuration", async () => {
    expect(await sync([shop([dial(1)], ["web-shop.localhost", "shop.example.com"]), api])).toBe("unchanged");
    await eventually(
      () => getThroughIngress(at("web-shop.localhost")),
      (answer) => answer.body === "two",
      { timeoutMs: 10 * REFRESH_MS, what: "the new replica behind the route" },
    );
  });

  it("moves replicas under traffic without a failed request", async () => {
    const moves = 60;
    const report = await trafficDuring(at("web-shop.localhost"), async () => {
      for (let i = 0; i < moves; i++) {
        // Both stay up, as a replica does through its drain period.
        const upstreams = i % 2 ? [dial(0)] : [dial(0), dial(1)];
        expect(await sync([shop(upstreams, ["web-shop.localhost", "shop.example.com"]), api])).toBe("unchanged");
        await new Promise((resolve) => setTimeout(resolve, REFRESH_MS / 4));
      }
    });
    console.log(`${moves} replica moves under ${report.sent} requests: ${report.failures.length} failed`);
    expect(report.failures).toEqual([]);
    expect([...report.bodies.keys()].sort()).toEqual(["one", "two"]);
  });

  it("spreads requests over every replica of a service with the most replicas a service may have", async () => {
    // 64 answers: far more than one DNS datagram carries (the resolver speaks DNS over TCP).
    const many: Server[] = [];
    try {
      for (let i = 0; i < 64; i++) {
        const server = createServer((_req, res) => res.end(`replica-${i}`));
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        many.push(server);
      }
      const dials = many.map((server) => `127.0.0.1:${(server.address() as { port: number }).port}`);
      const route = { serviceId: "9d3c1b2a-4e5f-4a6b-8c7d-0e1f2a3b4c5d", hosts: ["wide.localhost"], upstreams: dials };
      expect(await sync([shop([dial(0)], ["web-shop.localhost", "shop.example.com"]), api, route])).toBe("changed");
      const seen = new Set<string>();
      // Round robin over the 64 (reordered by each refresh of the answer): each gets requests.
      for (let i = 0; i < 1000 && seen.size < 64; i++) seen.add((await getThroughIngress(at("wide.localhost"))).body);
      expect(seen.size).toBe(64);
    } finally {
      for (const server of many) server.close();
    }
  });

  it("changes routes (a host name added, removed) without refusing or resetting a new connection", async () => {
    // Every configuration change makes Caddy open a new listening socket beside the old one and
    // close the old one; without net.ipv4.tcp_migrate_req (deploy/dev/setup.sh sets it) the kernel
    // resets the connections still queued on the closing socket. Caddy also closes keep-alive
    // connections then, racing requests sent on them (measured: about 1 in 200 changes, a request on
    // a keep-alive connection just opened): why rollouts change no configuration at all (above).
    const changes = 30;
    const report = await trafficDuring(
      at("web-shop.localhost"),
      async () => {
        for (let i = 0; i < changes; i++) {
          const hosts = ["web-shop.localhost", ...(i % 2 ? [] : ["shop.example.com"])];
          expect(await sync([shop([dial(0)], hosts)])).toBe("changed");
        }
      },
      { keepAlive: false },
    );
    console.log(
      `${changes} configuration changes under ${report.sent} new connections: ${report.failures.length} failed`,
    );
    expect(report.failures).toEqual([]);
  });

  it("says clearly when Caddy cannot be reached", async () => {
    const missing = new CaddyAdmin("unix:/nonexistent/caddy.sock");
    await expect(
      missing.apply(caddyServer([], { listen: caddy.listen, https: false, resolvers: [], refreshMs: REFRESH_MS })),
    ).rejects.toThrow(/Caddy at unix:\/nonexistent\/caddy.sock/);
  });
});
