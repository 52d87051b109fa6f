// 500 agents lose their control plane at once (it is killed) and come back when it restarts, each
// with its own connection and certificate and the agent's own full-jitter backoff. All of them must
// be back, and work queued after the storm must go to exactly one agent per build.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status, type ServiceError } from "@grpc/grpc-js";
import { createTestDatabase, type TestDatabase } from "../test-support/database.js";
import { eventually } from "../test-support/api.js";
import { queueBuilds, seedService } from "../test-support/fixtures.js";
import { freePort } from "../test-support/host.js";
import { startControlPlaneProcess, TEST_SECRET_KEY, type ControlPlaneProcess } from "../test-support/processes.js";
import { enrolAgents, loadAgentCa, SimulatedAgent } from "../bench/simulated-agents.js";

const AGENTS = 500;
const BUILDS = 200;

describe("500 agents reconnecting at once", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let controlPlane: ControlPlaneProcess;
  let env: Record<string, string>;
  const token = randomBytes(32).toString("hex");
  let agents: SimulatedAgent[] = [];
  const disconnects: (() => void)[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      SLIPWAY_BOOTSTRAP_TOKEN: token,
      HTTP_PORT: String(await freePort()),
      GRPC_PORT: String(await freePort()),
      REGISTRY_HOST: "registry.test:5000",
    };
    controlPlane = await startControlPlaneProcess(env);
    const ca = await loadAgentCa(database.db, TEST_SECRET_KEY);
    agents = (await enrolAgents(pool, ca, AGENTS, "storm")).map(
      (a) => new SimulatedAgent(controlPlane.grpcAddress, a.id, a.tls),
    );
  });

  afterAll(async () => {
    for (const disconnect of disconnects) disconnect();
    for (const agent of agents) agent.close();
    await controlPlane?.stop();
    await pool?.end();
    await database?.drop();
  });

  const connectedAgents = async () => {
    const res = await fetch(`${controlPlane.httpUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    return Number(/^slipway_connected_agents (\d+)$/m.exec(await res.text())?.[1] ?? -1);
  };

  /** Claims as an agent does: a transient failure is retried with the same key. */
  async function claimOnce(agent: SimulatedAgent): Promise<string | undefined> {
    const key = randomBytes(8).toString("hex");
    for (let attempt = 0; ; attempt++) {
      try {
        return (await agent.claim(key))?.ref?.id;
      } catch (error) {
        if ((error as ServiceError).code !== status.UNAVAILABLE || attempt > 20) throw error;
      }
    }
  }

  it("brings every agent back after the control plane restarts, and claims each build once", async () => {
    for (const agent of agents) disconnects.push(agent.stayConnected());
    await eventually(connectedAgents, (n) => n === AGENTS, { timeoutMs: 60_000, what: "agents connected" });

    const killed = new Promise((resolve) => controlPlane.process.once("exit", resolve));
    controlPlane.process.kill("SIGKILL");
    await killed;
    await eventually(
      async () => agents.filter((a) => a.connected).length,
      (n) => n === 0,
      { timeoutMs: 30_000, what: "agents noticing the control plane is gone" },
    );
    controlPlane = await startControlPlaneProcess(env);
    await eventually(connectedAgents, (n) => n === AGENTS, { timeoutMs: 120_000, what: "agents reconnected" });
    expect(agents.every((a) => a.connected)).toBe(true);

    const { serviceId } = await seedService(database.db);
    const builds = await queueBuilds(database.db, serviceId, BUILDS);
    // Every agent asks at once.
    const claimed = (await Promise.all(agents.map(claimOnce))).filter((id): id is string => id !== undefined);
    expect(claimed).toHaveLength(BUILDS);
    expect(new Set(claimed).size).toBe(BUILDS);
    expect(new Set(claimed)).toEqual(new Set(builds.map((b) => b.id)));
    const { rows } = await pool.query<{ claims: string }>(
      `SELECT count(*) AS claims FROM build_status_history WHERE to_status = 'claimed' AND build_id = ANY($1::uuid[])`,
      [builds.map((b) => b.id)],
    );
    expect(Number(rows[0]?.claims)).toBe(BUILDS);
    // Its own waits bound it (connect, notice, reconnect: up to 210 s on a loaded 2-core host), not
    // the suite's default of 60 s, which a busy run exceeded with every wait still within bounds.
  }, 240_000);
});
