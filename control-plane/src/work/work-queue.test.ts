// A third kind of work, known only to this test, registered through the core's public interface: it
// is claimed, woken for, advanced, renewed, reaped, resumed, cancelled and finished like builds and
// replicas, with no change to the core. Its "migration" is the SQL below; its "file" is `checkWork`.
import { EventEmitter } from "node:events";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/database.js";
import { seedAgents, seedService } from "../../../test-support/fixtures.js";
import { DEFAULT_ORG_ID } from "../db/schema.js";
import { LeaseLostError, invalid } from "../errors.js";
import { NotificationListener } from "../db/notification-listener.js";
import type { Lease, WorkKind, WorkRow } from "./kind.js";
import type { SessionEvent } from "./session-hub.js";
import { enqueueWork } from "./sql/enqueue.js";
import { claimWork } from "./sql/claim.js";
import { finishWork } from "./sql/finish.js";
import { BUILD_TABLE, buildWork } from "../builds/build-work.js";
import { cancelWork } from "./sql/cancel.js";
import { notifyWork } from "./sql/notify.js";
import { wakeAgents } from "./wake-up.js";
import { WorkQueue, type ClaimingAgent } from "./work-queue.js";

const MIGRATION = sql`
  CREATE TYPE service_check_status AS ENUM
    ('pending', 'claimed', 'probing', 'passed', 'failed', 'cancelled');
  CREATE TABLE service_checks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    service_id uuid NOT NULL REFERENCES services(id),
    url text NOT NULL,
    status service_check_status NOT NULL DEFAULT 'pending',
    status_reason text,
    attempt integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 2,
    claimed_by uuid REFERENCES agents(id),
    lease_token uuid,
    lease_expires_at timestamptz,
    claim_key text,
    lease_extended boolean NOT NULL DEFAULT false,
    resumes smallint NOT NULL DEFAULT 0,
    cancel_requested_at timestamptz,
    latency_ms integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
  );
  CREATE INDEX service_checks_pending ON service_checks (created_at, id) WHERE status = 'pending';
  CREATE TABLE service_check_history (
    id bigserial PRIMARY KEY,
    check_id uuid NOT NULL REFERENCES service_checks(id),
    from_status service_check_status,
    to_status service_check_status NOT NULL,
    actor text NOT NULL,
    reason text,
    at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE service_check_results (check_id uuid PRIMARY KEY, passed boolean NOT NULL);`;

interface ServiceCheck extends WorkRow {
  service_id: string;
  url: string;
  latency_ms: number | null;
}

/** The whole description of the new kind: what differs from builds and replicas. */
const checkWork: WorkKind<ServiceCheck, { url: string; serviceName: string }> = {
  name: "check",
  capability: "remediate",
  table: "service_checks",
  statusType: "service_check_status",
  history: { table: "service_check_history", workColumn: "check_id" },
  leased: ["claimed", "probing"],
  phases: { probing: ["claimed"] },
  claimOrder: sql`created_at, id`,
  owner: {
    column: "service_id",
    rows: sql`SELECT s.id, p.org_id, '{}'::jsonb AS labels FROM services s JOIN projects p ON p.id = s.project_id`,
  },
  cancellable: true,
  requeue: true,
  givenUpStatus: "failed",
  details: (check) =>
    sql`(SELECT json_build_object('serviceName', s.name) FROM services s WHERE s.id = ${check}.service_id)`,
  spec: (check, details) => ({ url: check.url, serviceName: (details as { serviceName: string }).serviceName }),
  ending(report) {
    if (report.outcome !== "succeeded") return { status: report.outcome, reason: report.error };
    const latency = (report.result as { latencyMs?: unknown })?.latencyMs;
    if (typeof latency !== "number") throw invalid("a passed check needs its latency");
    return { status: "passed", reason: null, set: { latency_ms: latency } };
  },
  onEnded: {
    statuses: ["passed", "failed"],
    async run(trx, checks) {
      for (const check of checks) {
        await sql`INSERT INTO service_check_results VALUES (${check.id}, ${check.status === "passed"})`.execute(trx);
      }
    },
  },
};

describe("a kind of work registered through the core's public interface", () => {
  let database: TestDatabase;
  let queue: WorkQueue;
  let serviceId: string;
  let agents: ClaimingAgent[];
  let builder: ClaimingAgent;

  beforeAll(async () => {
    database = await createTestDatabase();
    await MIGRATION.execute(database.db);
    ({ serviceId } = await seedService(database.db));
    const asAgent = (id: string, capabilities: string[]) => ({
      id,
      orgId: DEFAULT_ORG_ID,
      capabilities,
      labels: {},
      drained: false,
    });
    agents = (await seedAgents(database.db, 3, { capabilities: ["remediate"] })).map((id) =>
      asAgent(id, ["remediate"]),
    );
    builder = asAgent((await seedAgents(database.db, 1))[0] as string, ["build"]);
    queue = new WorkQueue(database.db, [buildWork({ registryHost: "registry.test" }), checkWork], { leaseSeconds: 60 });
  });

  afterAll(() => database.drop());

  const enqueueCheck = (url: string) =>
    database.db.transaction().execute(async (trx) => {
      const [check] = await enqueueWork<ServiceCheck>(trx, checkWork, [{ service_id: serviceId, url }], "user:test");
      await notifyWork(trx, checkWork.name);
      return check as ServiceCheck;
    });
  const rowOf = (id: string) =>
    sql<ServiceCheck & { resumes: number }>`SELECT * FROM service_checks WHERE id = ${id}`
      .execute(database.db)
      .then((r) => r.rows[0] as ServiceCheck & { resumes: number });
  const historyOf = (id: string) =>
    sql<{ from_status: string | null; to_status: string; actor: string }>`
      SELECT from_status, to_status, actor FROM service_check_history WHERE check_id = ${id} ORDER BY id`
      .execute(database.db)
      .then((r) => r.rows);
  const leaseOf = (check: WorkRow, agent: ClaimingAgent): Lease => ({
    id: check.id,
    leaseToken: check.lease_token as string,
    agentId: agent.id,
  });
  const nth = (i: number) => () => agents[i] as ClaimingAgent;
  const [first, second, third] = [nth(0), nth(1), nth(2)];

  it("wakes an idle agent able to take it when one is queued", async () => {
    const hub = queue.sessions;
    const listener = new NotificationListener(database.url);
    wakeAgents(listener, database.db, queue.kinds, hub);
    await listener.start();
    try {
      const events: SessionEvent[] = [];
      const stream = (onWrite: (event: SessionEvent) => void) =>
        Object.assign(new EventEmitter(), { write: onWrite, end() {} });
      const heard = new Promise<void>((resolve) => {
        hub.attach(
          first(),
          1,
          stream((event) => {
            events.push(event);
            resolve();
          }),
        );
        // An agent that cannot take checks is never woken for one.
        hub.attach(
          builder,
          1,
          stream((event) => events.push(event)),
        );
      });
      const check = await enqueueCheck("http://one.test/healthz");
      await heard;
      expect(events).toEqual([{ type: "work-available", kind: "check" }]);
      // Leave the queue as it was for the next test.
      await sql`DELETE FROM service_check_history WHERE check_id = ${check.id}`.execute(database.db);
      await sql`DELETE FROM service_checks WHERE id = ${check.id}`.execute(database.db);
    } finally {
      await listener.stop();
    }
  });

  it("is claimed once by racing agents with its spec, only by agents of its capability, and advanced", async () => {
    const check = await enqueueCheck("http://two.test/healthz");
    expect(await queue.claim(builder, ["build", "check"], null)).toBeUndefined();
    const claims = await Promise.all(agents.map((agent) => queue.claim(agent, ["check"], `k-${agent.id}`)));
    const winners = claims.filter((claim) => claim !== undefined);
    expect(winners).toHaveLength(1);
    const won = winners[0]!;
    expect(won.kind.name).toBe("check");
    expect(won.spec).toEqual({ url: "http://two.test/healthz", serviceName: "web" });
    expect(won.row).toMatchObject({ id: check.id, status: "claimed", attempt: 1 });
    // The claim's reply was lost: asked again with its key, the same work comes back.
    const winner = agents[claims.indexOf(won)] as ClaimingAgent;
    const again = await queue.claim(winner, ["check"], `k-${winner.id}`);
    expect(again).toMatchObject({ again: true, row: { id: check.id, lease_token: won.row.lease_token } });

    await queue.advance("check", leaseOf(won.row, winner), "probing");
    await expect(queue.advance("check", leaseOf(won.row, winner), "pushing")).rejects.toMatchObject({
      problem: "invalid",
    });
    // The right token in another agent's hands is refused.
    const other = agents.find((agent) => agent.id !== winner.id) as ClaimingAgent;
    await expect(queue.advance("check", leaseOf(won.row, other), "probing")).rejects.toBeInstanceOf(LeaseLostError);
    expect((await rowOf(check.id)).status).toBe("probing");

    const [verdict] = await queue.renew(winner.id, [{ kind: "check", id: check.id, leaseToken: won.row.lease_token! }]);
    expect(verdict?.verdict).toBe("continue");
    const finished = await queue.finish("check", leaseOf(won.row, winner), {
      outcome: "succeeded",
      result: { latencyMs: 12 },
      error: "",
    });
    expect(finished).toMatchObject({ status: "passed", latency_ms: 12 });
    // Its onEnded ran in the same transaction.
    const results = await sql`SELECT passed FROM service_check_results WHERE check_id = ${check.id}`.execute(
      database.db,
    );
    expect(results.rows).toEqual([{ passed: true }]);
    expect((await historyOf(check.id)).map((h) => h.to_status)).toEqual(["pending", "claimed", "probing", "passed"]);
    // A second terminal write with the same lease changes nothing.
    await expect(
      queue.finish("check", leaseOf(won.row, winner), { outcome: "failed", result: undefined, error: "late" }),
    ).rejects.toBeInstanceOf(LeaseLostError);
  });

  it("is reaped when its lease expires: re-queued, then failed once its attempts are spent", async () => {
    const check = await enqueueCheck("http://three.test/healthz");
    const expire = () =>
      sql`UPDATE service_checks SET lease_expires_at = now() - interval '1 second' WHERE id = ${check.id}`.execute(
        database.db,
      );
    const claimed = (await queue.claim(first(), ["check"], null))!;
    await expire();
    expect(await queue.reap()).toEqual([{ kind: "check", outcome: "requeued", count: 1 }]);
    expect(await rowOf(check.id)).toMatchObject({ status: "pending", claimed_by: null, lease_token: null });
    // The old holder's lease is gone.
    const [lost] = await queue.renew(first().id, [
      { kind: "check", id: check.id, leaseToken: claimed.row.lease_token! },
    ]);
    expect(lost).toEqual({ verdict: "lost" });

    const retried = (await queue.claim(second(), ["check"], null))!;
    expect(retried.row).toMatchObject({ id: check.id, attempt: 2 });
    await expire();
    expect(await queue.reap()).toEqual([{ kind: "check", outcome: "ended", count: 1 }]);
    expect(await rowOf(check.id)).toMatchObject({
      status: "failed",
      status_reason: "the agent stopped answering on attempt 2 of 2",
      claimed_by: second().id,
    });
    const results = await sql`SELECT passed FROM service_check_results WHERE check_id = ${check.id}`.execute(
      database.db,
    );
    expect(results.rows).toEqual([{ passed: false }]);
  });

  it("is resumed once after its agent restarts, under a new lease token, then given back", async () => {
    const check = await enqueueCheck("http://four.test/healthz");
    const claimed = (await queue.claim(third(), ["check"], null))!;
    await queue.advance("check", leaseOf(claimed.row, third()), "probing");
    const handle = { kind: "check", id: check.id, leaseToken: claimed.row.lease_token! };

    const [resumed] = await queue.resume(third().id, [handle], "restart-1");
    expect(resumed).toMatchObject({
      verdict: "continue",
      work: { row: { id: check.id, attempt: 1, status: "claimed" } },
    });
    const token = resumed?.verdict === "continue" ? (resumed.work.row.lease_token as string) : "";
    expect(token).not.toBe(claimed.row.lease_token);
    // Whatever the old run still had in flight is refused.
    await expect(queue.advance("check", leaseOf(claimed.row, third()), "probing")).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    // Asked again with the same key (the reply was lost): the same answer.
    const [repeated] = await queue.resume(third().id, [handle], "restart-1");
    expect(repeated).toMatchObject({ verdict: "continue", work: { row: { lease_token: token } } });
    expect((await rowOf(check.id)).resumes).toBe(1);

    // It restarts again while running it: the claim is given back to the queue.
    const [spent] = await queue.resume(third().id, [{ ...handle, leaseToken: token }], "restart-2");
    expect(spent).toEqual({ verdict: "lost", reason: "the agent restarted again while running it; it was given back" });
    expect(await rowOf(check.id)).toMatchObject({ status: "pending", claimed_by: null });
    expect((await historyOf(check.id)).map((h) => `${h.from_status}→${h.to_status}`)).toEqual([
      "null→pending",
      "pending→claimed",
      "claimed→probing",
      "probing→claimed",
      "claimed→pending",
    ]);
    await database.db.transaction().execute((trx) => cancelWork(trx, checkWork, check.id, "user:test"));
  });

  it("is cancelled: at once while pending, through its agent's heartbeat while running", async () => {
    const waiting = await enqueueCheck("http://five.test/healthz");
    const cancelled = await database.db
      .transaction()
      .execute((trx) => cancelWork(trx, checkWork, waiting.id, "user:test"));
    expect(cancelled).toMatchObject({ outcome: "cancelled", row: { status: "cancelled" } });

    const running = await enqueueCheck("http://six.test/healthz");
    const claimed = (await queue.claim(first(), ["check"], null))!;
    expect(claimed.row.id).toBe(running.id);
    const requested = await database.db
      .transaction()
      .execute((trx) => cancelWork(trx, checkWork, running.id, "user:test"));
    expect(requested?.outcome).toBe("requested");
    const [verdict] = await queue.renew(first().id, [
      { kind: "check", id: running.id, leaseToken: claimed.row.lease_token! },
    ]);
    expect(verdict?.verdict).toBe("cancel");
    await queue.finish("check", leaseOf(claimed.row, first()), {
      outcome: "cancelled",
      result: undefined,
      error: "stopped",
    });
    expect(await rowOf(running.id)).toMatchObject({ status: "cancelled", status_reason: "stopped" });
  });

  it("gives a claim asked twice at once one item, and ends the current holder's work when a stale holder's report comes with it", async () => {
    const check = await enqueueCheck("http://seven.test/healthz");
    const twice = await claimWork<ServiceCheck>(
      database.db,
      checkWork,
      [
        { agentId: first().id, claimKey: "same" },
        { agentId: first().id, claimKey: "same" },
      ],
      60,
      queue.kinds,
    );
    expect(twice.map((claimed) => claimed?.id)).toEqual([check.id, check.id]);
    expect(twice[0]?.lease_token).toBe(twice[1]?.lease_token);
    expect((await historyOf(check.id)).filter((h) => h.to_status === "claimed")).toHaveLength(1);

    // Its lease expires and another agent claims it; the first agent's late report and the new
    // holder's arrive in one statement: the new holder's ends the work.
    await sql`UPDATE service_checks SET lease_expires_at = now() - interval '1 second' WHERE id = ${check.id}`.execute(
      database.db,
    );
    await queue.reap();
    const current = (await queue.claim(second(), ["check"], null))!;
    const [stale, fresh] = await finishWork<ServiceCheck>(database.db, checkWork, [
      { lease: leaseOf(twice[0]!, first()), ending: { status: "failed", reason: "late" } },
      { lease: leaseOf(current.row, second()), ending: { status: "failed", reason: "probe failed" } },
    ]);
    expect(stale).toBeUndefined();
    expect(fresh).toMatchObject({ id: check.id, status: "failed", status_reason: "probe failed" });
  });

  it("gives nothing to a claimant whose own labels do not allow what the batch claims", async () => {
    const { serviceId: gpuService } = await seedService(database.db, { buildAgentLabels: { gpu: "yes" } });
    const [gpu] = await seedAgents(database.db, 1, { labels: { gpu: "yes" } });
    const [plain] = await seedAgents(database.db, 1);
    await database.db.transaction().execute((trx) =>
      enqueueWork(
        trx,
        BUILD_TABLE,
        [1, 2].map(() => ({ service_id: gpuService, commit_sha: "a".repeat(40), branch: "main", trigger: "manual" })),
        "user:test",
      ),
    );
    const claimed = await claimWork(
      database.db,
      BUILD_TABLE,
      [
        { agentId: gpu as string, claimKey: null },
        { agentId: plain as string, claimKey: null },
      ],
      60,
      queue.kinds,
    );
    expect(claimed.map((build) => build?.claimed_by)).toEqual([gpu, undefined]);
  });
});
