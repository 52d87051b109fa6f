// The build status machine against a real database: claims, lease fencing and the reaper, as the
// work core runs them for builds.
import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/database.js";
import { queueBuilds, seedAgents, seedService } from "../../../test-support/fixtures.js";
import {
  LeaseLostError,
  advanceBuild,
  claimNextBuild,
  extendLiveLeases,
  finishBuild,
  insertBuild,
  leaseKey,
  reapExpiredBuilds,
  renewBuildLeases,
} from "../../../test-support/build-queue.js";

describe("build repository", () => {
  let database: TestDatabase;
  let serviceId: string;
  let agents: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    ({ serviceId } = await seedService(database.db));
    agents = await seedAgents(database.db, 20);
  });

  afterAll(() => database.drop());

  async function newBuild(maxAttempts = 3) {
    const build = await database.db.transaction().execute((trx) =>
      insertBuild(trx, {
        serviceId,
        commitSha: randomBytes(20).toString("hex"),
        branch: "main",
        trigger: "manual",
        actor: "user:test",
      }),
    );
    await database.db.updateTable("builds").set({ max_attempts: maxAttempts }).where("id", "=", build.id).execute();
    return build;
  }

  /** Claims until the given build is the one claimed (earlier tests may leave pending builds). */
  async function claim(buildId: string, agentId: string) {
    for (;;) {
      const claimed = await claimNextBuild(database.db, agentId, 60);
      if (!claimed) throw new Error(`build ${buildId} was not claimable`);
      if (claimed.id === buildId) return claimed;
      await finishBuild(database.db, {
        id: claimed.id,
        leaseToken: claimed.lease_token as string,
        agentId,
        outcome: { status: "failed", reason: "cleared" },
      });
    }
  }

  const statusOf = (id: string) =>
    database.db
      .selectFrom("builds")
      .select(["status", "lease_token", "claimed_by"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();

  const expire = (id: string) =>
    database.db
      .updateTable("builds")
      .set({ lease_expires_at: sql<Date>`now() - interval '1 second'` })
      .where("id", "=", id)
      .execute();

  it("gives one pending build to exactly one of many racing agents", async () => {
    const build = await newBuild();
    const results = await Promise.all(agents.map((agentId) => claimNextBuild(database.db, agentId, 60)));
    const winners = results.filter((r) => r !== undefined);
    expect(winners).toHaveLength(1);
    expect(winners[0]).toMatchObject({ id: build.id, status: "claimed", attempt: 1 });
    expect(winners[0]?.lease_token).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("gives a build only to an agent carrying every label its service requires", async () => {
    const { serviceId: gpuService } = await seedService(database.db, {
      buildAgentLabels: { gpu: "yes", region: "eu" },
    });
    const [plain] = await seedAgents(database.db, 1, { labels: { region: "eu" } });
    const [gpu] = await seedAgents(database.db, 1, { labels: { gpu: "yes", region: "eu", arch: "amd64" } });
    const [build] = await queueBuilds(database.db, gpuService);
    expect(await claimNextBuild(database.db, plain as string, 60)).toBeUndefined();
    expect(await claimNextBuild(database.db, gpu as string, 60)).toMatchObject({ id: build?.id, claimed_by: gpu });
  });

  it("fences every write with the lease token", async () => {
    const build = await newBuild();
    const claimed = await claim(build.id, agents[0] as string);
    const wrongToken = "00000000-0000-4000-8000-00000000dead";
    const holder = agents[0] as string;
    await expect(
      advanceBuild(database.db, { id: build.id, leaseToken: wrongToken, agentId: holder, phase: "cloning" }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      finishBuild(database.db, {
        id: build.id,
        leaseToken: wrongToken,
        agentId: holder,
        outcome: { status: "failed", reason: "x" },
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    // The right token in another agent's hands is refused too: a lease belongs to its holder.
    await expect(
      finishBuild(database.db, {
        id: build.id,
        leaseToken: claimed.lease_token as string,
        agentId: agents[9] as string,
        outcome: { status: "failed", reason: "x" },
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    const row = await database.db.selectFrom("builds").selectAll().where("id", "=", build.id).executeTakeFirstOrThrow();
    expect(row.status).toBe("claimed");
    expect(row.lease_token).toBe(claimed.lease_token);
  });

  it("ignores repeated and out-of-order phase reports from the lease holder", async () => {
    const build = await newBuild();
    const claimed = await claim(build.id, agents[1] as string);
    const lease = { id: build.id, leaseToken: claimed.lease_token as string, agentId: agents[1] as string };
    await advanceBuild(database.db, { ...lease, phase: "building" });
    await advanceBuild(database.db, { ...lease, phase: "building" });
    await advanceBuild(database.db, { ...lease, phase: "cloning" });
    const history = await database.db
      .selectFrom("build_status_history")
      .select(["from_status", "to_status"])
      .where("build_id", "=", build.id)
      .orderBy("id")
      .execute();
    expect(history.map((h) => h.to_status)).toEqual(["pending", "claimed", "building"]);
  });

  it("lets the first terminal write win", async () => {
    const build = await newBuild();
    const claimed = await claim(build.id, agents[2] as string);
    const lease = { id: build.id, leaseToken: claimed.lease_token as string, agentId: agents[2] as string };
    const results = await Promise.allSettled([
      finishBuild(database.db, {
        ...lease,
        outcome: { status: "completed", imageRef: "r/p/s:x", imageDigest: `sha256:${"a".repeat(64)}` },
      }),
      finishBuild(database.db, { ...lease, outcome: { status: "failed", reason: "late" } }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const row = await database.db.selectFrom("builds").selectAll().where("id", "=", build.id).executeTakeFirstOrThrow();
    const winner = (results.find((r) => r.status === "fulfilled") as PromiseFulfilledResult<{ status: string }>).value;
    expect(row.status).toBe(winner.status);
    const terminalRows = await database.db
      .selectFrom("build_status_history")
      .select("to_status")
      .where("build_id", "=", build.id)
      .where("to_status", "in", ["completed", "failed", "cancelled"])
      .execute();
    expect(terminalRows).toHaveLength(1);
  });

  it("renews only leases the agent still holds", async () => {
    const build = await newBuild();
    const claimed = await claim(build.id, agents[3] as string);
    const renewed = await renewBuildLeases(
      database.db,
      agents[3] as string,
      [
        { id: build.id, leaseToken: claimed.lease_token as string },
        { id: build.id, leaseToken: "00000000-0000-4000-8000-00000000beef" },
      ],
      120,
    );
    expect([...renewed.keys()]).toEqual([leaseKey(build.id, claimed.lease_token as string)]);
    const byOtherAgent = await renewBuildLeases(
      database.db,
      agents[4] as string,
      [{ id: build.id, leaseToken: claimed.lease_token as string }],
      120,
    );
    expect(byOtherAgent.size).toBe(0);
  });

  it("re-queues a build whose lease expired, refuses the old holder, and fails it after max attempts", async () => {
    const build = await newBuild(2);
    const first = await claim(build.id, agents[5] as string);
    await expire(build.id);
    await reapExpiredBuilds(database.db);
    expect(await statusOf(build.id)).toMatchObject({ status: "pending", lease_token: null, claimed_by: null });
    await expect(
      advanceBuild(database.db, {
        id: build.id,
        leaseToken: first.lease_token as string,
        agentId: agents[5] as string,
        phase: "cloning",
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);

    const second = await claim(build.id, agents[6] as string);
    expect(second.attempt).toBe(2);
    await expire(build.id);
    await reapExpiredBuilds(database.db);
    const row = await database.db.selectFrom("builds").selectAll().where("id", "=", build.id).executeTakeFirstOrThrow();
    expect(row.status).toBe("failed");
    expect(row.status_reason).toBe("the agent stopped answering on attempt 2 of 2");
    expect(row.finished_at).not.toBeNull();
  });

  it("hands each expired build to one reaper when several run at once", async () => {
    const builds = [await newBuild(), await newBuild(), await newBuild()];
    for (const build of builds) {
      await claim(build.id, agents[7] as string);
      await expire(build.id);
    }
    await Promise.all(Array.from({ length: 5 }, () => reapExpiredBuilds(database.db)));
    for (const build of builds) expect(await statusOf(build.id)).toMatchObject({ status: "pending" });
    const history = await database.db
      .selectFrom("build_status_history")
      .select("build_id")
      .where(
        "build_id",
        "in",
        builds.map((b) => b.id),
      )
      .where("actor", "=", "system:reaper")
      .execute();
    expect(history).toHaveLength(3);
  });

  it("gives live leases one more period after a control-plane restart, so the reaper spares them", async () => {
    const build = await newBuild();
    await claim(build.id, agents[8] as string);
    await expire(build.id);
    await extendLiveLeases(database.db, 60);
    await reapExpiredBuilds(database.db);
    expect(await statusOf(build.id)).toMatchObject({ status: "claimed", claimed_by: agents[8] });
  });
});
