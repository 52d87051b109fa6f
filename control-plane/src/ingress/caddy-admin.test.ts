// The ingress against a real Caddy: routes applied through the admin API take effect at once, the
// same routes applied again change nothing, and a Caddy that lost its configuration gets it back.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getThroughIngress, startCaddy, type TestCaddy } from "../../../test-support/caddy.js";
import { CaddyAdmin } from "./caddy-admin.js";
import { caddyServer } from "./caddy-config.js";

describe("Caddy through its admin API", () => {
  let caddy: TestCaddy;
  let admin: CaddyAdmin;
  const replicas: { server: Server; dial: string }[] = [];

  beforeAll(async () => {
    caddy = await startCaddy();
    admin = new CaddyAdmin(caddy.adminAddress);
    for (const name of ["one", "two"]) {
      const server = createServer((_req, res) => res.end(name));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      replicas.push({ server, dial: `127.0.0.1:${(server.address() as { port: number }).port}` });
    }
  });
  afterAll(async () => {
    await caddy?.stop();
    for (const { server } of replicas) server.close();
  });

  const at = (host: string) => `http://${host}:${caddy.port}/`;
  const options = () => ({ listen: caddy.listen, https: false });

  it("routes each service's host names to its replicas, 503 without replicas, 404 for unknown hosts", async () => {
    const server = caddyServer(
      [
        { serviceId: "a", hosts: ["web-shop.localhost", "shop.example.com"], upstreams: [replicas[0]?.dial ?? ""] },
        { serviceId: "b", hosts: ["api-shop.localhost"], upstreams: [] },
      ],
      options(),
    );
    expect(await admin.apply(server)).toBe("changed");
    expect(await getThroughIngress(at("web-shop.localhost"))).toEqual({ status: 200, body: "one" });
    expect(await getThroughIngress(at("shop.example.com"))).toEqual({ status: 200, body: "one" });
    expect((await getThroughIngress(at("api-shop.localhost"))).status).toBe(503);
    expect((await getThroughIngress(at("other.localhost"))).status).toBe(404);
    // Applying what Caddy already has does not touch it.
    expect(await admin.apply(server)).toBe("unchanged");
  });

  it("moves a service to new replicas in place", async () => {
    const server = caddyServer(
      [{ serviceId: "a", hosts: ["web-shop.localhost"], upstreams: [replicas[1]?.dial ?? ""] }],
      options(),
    );
    expect(await admin.apply(server)).toBe("changed");
    expect(await getThroughIngress(at("web-shop.localhost"))).toEqual({ status: 200, body: "two" });
  });

  it("says clearly when Caddy cannot be reached", async () => {
    const missing = new CaddyAdmin("unix:/nonexistent/caddy.sock");
    await expect(missing.apply(caddyServer([], options()))).rejects.toThrow(/Caddy at unix:\/nonexistent\/caddy.sock/);
  });
});
