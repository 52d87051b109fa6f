// The agent channel's server side, over real gRPC, against a real control plane and database.
import { randomBytes } from "node:crypto";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import {
  AgentServiceClient,
  METADATA,
  Outcome,
  PROTOCOL_VERSION,
  Verdict,
  WorkKind,
  WorkPhase,
  type Work,
  type WorkRef,
} from "@slipway/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/database.js";
import { loadConfig } from "../config.js";
import { startControlPlane, type RunningControlPlane } from "../server.js";
import { TEST_ACTOR as actor, seedService } from "../../../test-support/fixtures.js";
import { insertBuild } from "../builds/build-repository.js";
import { notifyWorkAvailable } from "./work-notifier.js";
import { createAgent } from "./enrolment.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;

type Call<Req, Res> = (req: Req, md: Metadata, cb: (e: ServiceError | null, r: Res) => void) => unknown;

describe("agent channel (server side)", () => {
  let database: TestDatabase;
  let controlPlane: RunningControlPlane;
  let client: AgentServiceClient;
  let serviceId: string;
  let projectId: string;
  let identity: { agentId: string; credential: string };

  const metadata = (overrides: Partial<Record<string, string>> = {}) => {
    const md = new Metadata();
    const values = {
      [METADATA.agentId]: identity.agentId,
      [METADATA.protocol]: String(PROTOCOL_VERSION),
      [METADATA.authorization]: `Bearer ${identity.credential}`,
      ...overrides,
    };
    for (const [key, value] of Object.entries(values)) if (value !== undefined) md.set(key, value);
    return md;
  };

  function rpc<Req, Res>(method: Call<Req, Res>, request: Req, md = metadata()): Promise<Res> {
    return new Promise((resolve, reject) =>
      method.call(client, request, md, (error, response) => (error ? reject(error) : resolve(response))),
    );
  }
  const claim = (kinds = [WorkKind.WORK_KIND_BUILD, WorkKind.WORK_KIND_DEPLOY], idempotencyKey = "") =>
    rpc(client.claim as unknown as Call<{ kinds: WorkKind[]; idempotencyKey: string }, { work?: Work }>, {
      kinds,
      idempotencyKey,
    });
  const report = (work: WorkRef, phase: WorkPhase) =>
    rpc(client.reportStatus as Call<unknown, unknown>, { work, phase });
  const appendLog = (work: WorkRef, seq: number, text: string) =>
    rpc(client.appendLog as Call<unknown, { ackedSeq: number }>, { work, seq, data: Buffer.from(text) });
  const complete = (request: unknown) => rpc(client.complete as Call<unknown, unknown>, request);
  const heartbeat = (held: WorkRef[]) =>
    rpc(client.heartbeat as Call<unknown, { verdicts: { verdict: Verdict; work?: WorkRef }[] }>, { held });
  const codeOf = (promise: Promise<unknown>) =>
    promise.then(
      () => "OK",
      (error: ServiceError) => status[error.code],
    );

  async function register(joinToken: string) {
    return new Promise<{ agentId: string; credential: string }>((resolve, reject) =>
      client.register(
        { joinToken, hostname: "test-host", protocolVersion: PROTOCOL_VERSION, agentVersion: "test" },
        (error, response) => (error ? reject(error) : resolve(response)),
      ),
    );
  }

  async function queueBuild() {
    return database.db.transaction().execute(async (trx) => {
      const build = await insertBuild(trx, {
        serviceId,
        commitSha: randomBytes(20).toString("hex"),
        branch: "main",
        trigger: "manual",
        actor: "user:test",
      });
      await notifyWorkAvailable(trx, "build");
      return build;
    });
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    controlPlane = await startControlPlane(
      loadConfig({
        DATABASE_URL: database.url,
        REDIS_URL: "redis://127.0.0.1:6379",
        GITHUB_WEBHOOK_SECRET: "s".repeat(32),
        SLIPWAY_BOOTSTRAP_TOKEN: "t".repeat(32),
        HTTP_PORT: "0",
        GRPC_PORT: "0",
        REGISTRY_HOST: "registry.test:5000",
        LOG_LEVEL: "silent",
      }),
      { migrate: false },
    );
    client = new AgentServiceClient(controlPlane.grpcAddress, credentials.createInsecure());
    ({ projectId, serviceId } = await seedService(database.db, {
      name: "api",
      gitUrl: "https://example.invalid/acme/api.git",
      containerPort: 3000,
      replicas: 2,
    }));
    const { joinToken } = await createAgent(database.db, actor, { name: "worker", capabilities: ["build", "deploy"] });
    identity = await register(joinToken);
  });

  afterAll(async () => {
    client?.close();
    await controlPlane?.stop();
    await database?.drop();
  });

  it("enrols with a join token exactly once, and stores only digests", async () => {
    const { joinToken } = await createAgent(database.db, actor, { name: "once", capabilities: ["build"] });
    const first = await register(joinToken);
    expect(first.credential).toMatch(/^sac_/);
    await expect(register(joinToken)).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    const row = await database.db
      .selectFrom("agents")
      .selectAll()
      .where("id", "=", first.agentId)
      .executeTakeFirstOrThrow();
    expect(row.join_token_hash).toBeNull();
    expect(JSON.stringify(row)).not.toContain(first.credential);
  });

  it("refuses calls without a valid credential or with another protocol version", async () => {
    expect(await codeOf(rpc(client.claim as Call<unknown, unknown>, { kinds: [] }, new Metadata()))).toBe(
      "FAILED_PRECONDITION",
    );
    expect(
      await codeOf(
        rpc(
          client.claim as Call<unknown, unknown>,
          { kinds: [] },
          metadata({ [METADATA.authorization]: "Bearer sac_wrong" }),
        ),
      ),
    ).toBe("UNAUTHENTICATED");
    expect(
      await codeOf(
        rpc(client.claim as Call<unknown, unknown>, { kinds: [] }, metadata({ [METADATA.agentId]: "not-a-uuid" })),
      ),
    ).toBe("UNAUTHENTICATED");
    expect(
      await codeOf(rpc(client.claim as Call<unknown, unknown>, { kinds: [] }, metadata({ [METADATA.protocol]: "2" }))),
    ).toBe("FAILED_PRECONDITION");
  });

  it("wakes a connected agent's session stream when work is queued", async () => {
    const stream = client.session({ protocolVersion: PROTOCOL_VERSION, slots: 1 }, metadata());
    const kinds: WorkKind[] = [];
    let connected!: () => void;
    let woken!: () => void;
    const onConnect = new Promise<void>((resolve) => (connected = resolve));
    const onWake = new Promise<void>((resolve) => (woken = resolve));
    stream.on("data", (message: { event?: { $case: string; value: { kind: WorkKind } } }) => {
      if (message.event?.$case === "workAvailable") kinds.push(message.event.value.kind);
      // Two hints come on connect (one per capability); a third can only come from the NOTIFY.
      if (kinds.length === 2) connected();
      if (kinds.length === 3) woken();
    });
    stream.on("error", () => {});
    await onConnect;
    const build = await queueBuild();
    await onWake;
    expect(kinds).toEqual([WorkKind.WORK_KIND_BUILD, WorkKind.WORK_KIND_DEPLOY, WorkKind.WORK_KIND_BUILD]);
    stream.cancel();
    // Leave nothing pending for the next test.
    const { work } = await claim([WorkKind.WORK_KIND_BUILD]);
    expect(work?.ref?.id).toBe(build.id);
    await complete({ work: work?.ref, outcome: Outcome.OUTCOME_FAILED, error: "cleanup" });
  });

  it("runs a build from claim to completion, and deploys it to every replica", async () => {
    const build = await queueBuild();
    const { work } = await claim([WorkKind.WORK_KIND_BUILD]);
    expect(work?.spec).toEqual({
      $case: "build",
      value: {
        projectId,
        serviceId,
        gitUrl: "https://example.invalid/acme/api.git",
        commitSha: build.commit_sha,
        branch: "main",
        rootDir: "",
        imageRef: `registry.test:5000/${projectId}/${serviceId}:${build.commit_sha}`,
      },
    });
    const ref = work?.ref as WorkRef;
    expect(await claim([WorkKind.WORK_KIND_BUILD])).toEqual({ work: undefined });

    for (const phase of [WorkPhase.WORK_PHASE_CLONING, WorkPhase.WORK_PHASE_BUILDING]) await report(ref, phase);
    // Chunks arrive twice and out of order: each is kept once, in sequence order.
    await appendLog(ref, 2, "second\n");
    await appendLog(ref, 1, "first\n");
    await appendLog(ref, 2, "second\n");
    await report(ref, WorkPhase.WORK_PHASE_BUILDING);
    await report(ref, WorkPhase.WORK_PHASE_PUSHING);
    expect(await codeOf(report(ref, WorkPhase.WORK_PHASE_STARTING))).toBe("INVALID_ARGUMENT");

    // A completion without a digest is refused and changes nothing.
    expect(await codeOf(complete({ work: ref, outcome: Outcome.OUTCOME_SUCCEEDED }))).toBe("INVALID_ARGUMENT");
    await complete({
      work: ref,
      outcome: Outcome.OUTCOME_SUCCEEDED,
      result: { $case: "build", value: { imageRef: "ignored", imageDigest: DIGEST } },
    });
    // The second terminal write loses.
    expect(await codeOf(complete({ work: ref, outcome: Outcome.OUTCOME_FAILED, error: "late" }))).toBe(
      "FAILED_PRECONDITION",
    );

    const row = await database.db.selectFrom("builds").selectAll().where("id", "=", build.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: "completed", image_digest: DIGEST, image_ref: work?.spec?.value.imageRef });
    const chunks = await database.db
      .selectFrom("build_log_chunks")
      .select(["seq", "data"])
      .where("build_id", "=", build.id)
      .orderBy("seq")
      .execute();
    expect(chunks.map((c) => c.data.toString())).toEqual(["first\n", "second\n"]);

    // One deploy item per replica.
    const replicas: WorkRef[] = [];
    for (let i = 0; i < 2; i++) {
      const { work: item } = await claim([WorkKind.WORK_KIND_DEPLOY]);
      expect(item?.spec).toMatchObject({
        $case: "deploy",
        value: { serviceId, replicaIndex: i, imageRef: row.image_ref, containerPort: 3000, env: { PORT: "3000" } },
      });
      replicas.push(item?.ref as WorkRef);
    }
    for (const [i, ref] of replicas.entries()) {
      await report(ref, WorkPhase.WORK_PHASE_PULLING);
      await report(ref, WorkPhase.WORK_PHASE_STARTING);
      await complete({
        work: ref,
        outcome: Outcome.OUTCOME_SUCCEEDED,
        result: { $case: "deploy", value: { containerId: `c${i}`, host: "127.0.0.1", port: 40000 + i } },
      });
    }
    const deployment = await database.db
      .selectFrom("deployments")
      .selectAll()
      .where("build_id", "=", build.id)
      .executeTakeFirstOrThrow();
    expect(deployment.status).toBe("succeeded");
  });

  it("renews held leases and tells the agent which ones it lost", async () => {
    const build = await queueBuild();
    const { work } = await claim([WorkKind.WORK_KIND_BUILD]);
    const ref = work?.ref as WorkRef;
    expect(ref.id).toBe(build.id);
    const stale = { ...ref, leaseToken: "00000000-0000-4000-8000-000000000bad" };
    const { verdicts } = await heartbeat([ref, stale]);
    expect(verdicts.map((v) => v.verdict)).toEqual([Verdict.VERDICT_CONTINUE, Verdict.VERDICT_LOST]);
    expect(await codeOf(appendLog(stale, 1, "x"))).toBe("FAILED_PRECONDITION");
    expect(await codeOf(appendLog({ ...ref, id: "nope" }, 1, "x"))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(appendLog(ref, 0, "x"))).toBe("INVALID_ARGUMENT");
    await complete({ work: ref, outcome: Outcome.OUTCOME_FAILED, error: "done" });
    const row = await database.db.selectFrom("builds").selectAll().where("id", "=", build.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: "failed", status_reason: "done" });
  });

  it("never rolls a service back when builds finish out of order, and drops replicas nobody started", async () => {
    const older = await queueBuild();
    const newer = await queueBuild();
    const claims: WorkRef[] = [];
    for (let i = 0; i < 2; i++) claims.push((await claim([WorkKind.WORK_KIND_BUILD])).work?.ref as WorkRef);
    const [olderRef, newerRef] = [claims.find((c) => c.id === older.id), claims.find((c) => c.id === newer.id)];
    const succeed = (ref: WorkRef | undefined) =>
      complete({
        work: ref,
        outcome: Outcome.OUTCOME_SUCCEEDED,
        result: { $case: "build", value: { imageRef: "x", imageDigest: DIGEST } },
      });
    await succeed(newerRef);
    await succeed(olderRef);
    const deployments = await database.db
      .selectFrom("deployments")
      .select(["build_id", "status"])
      .where("build_id", "in", [older.id, newer.id])
      .execute();
    expect(deployments).toEqual([{ build_id: newer.id, status: "pending" }]);

    // A newer deployment replaces the pending replicas of an older one, which ends as cancelled.
    const newest = await queueBuild();
    await succeed((await claim([WorkKind.WORK_KIND_BUILD])).work?.ref);
    const rows = await database.db
      .selectFrom("deployments")
      .select(["build_id", "status", "reason"])
      .where("build_id", "in", [newer.id, newest.id])
      .orderBy("created_at")
      .execute();
    expect(rows).toEqual([
      { build_id: newer.id, status: "cancelled", reason: "superseded by a newer deployment before it finished" },
      { build_id: newest.id, status: "pending", reason: null },
    ]);
  });

  it("streams a build's log live over SSE, resumes from a position, and ends with the build", async () => {
    const build = await queueBuild();
    const { work } = await claim([WorkKind.WORK_KIND_BUILD]);
    const ref = work?.ref as WorkRef;
    expect(ref.id).toBe(build.id);
    await appendLog(ref, 1, "first line\n");

    const response = await fetch(`${controlPlane.httpUrl}/api/builds/${build.id}/logs/stream`, {
      headers: { authorization: `Bearer ${"t".repeat(32)}` },
    });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let received = "";
    const readUntil = async (text: string) => {
      while (!received.includes(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${text}: ${received}`);
        received += decoder.decode(value, { stream: true });
      }
    };
    await readUntil("data: first line");
    // Appended after the client connected: it arrives without asking again.
    await appendLog(ref, 2, "second line\n");
    await readUntil("data: second line");
    await complete({ work: ref, outcome: Outcome.OUTCOME_FAILED, error: "stop" });
    await readUntil("event: end");
    expect(received).toContain("id: 1:1\nevent: log\ndata: first line");
    expect(received).toContain("id: 1:2\nevent: log\ndata: second line");
    expect(received).toContain('event: end\ndata: {"status":"failed"}');

    // Resuming from 1:1 sends only what came after it.
    const resumed = await fetch(`${controlPlane.httpUrl}/api/builds/${build.id}/logs/stream`, {
      headers: { authorization: `Bearer ${"t".repeat(32)}`, "last-event-id": "1:1" },
    });
    const text = await resumed.text();
    expect(text).not.toContain("first line");
    expect(text).toContain("data: second line");
    expect(text).toContain("event: end");
  });

  it("returns the same work to a retried claim, nothing to a drained agent, and refuses a revoked one", async () => {
    const build = await queueBuild();
    const first = await claim([WorkKind.WORK_KIND_BUILD], "claim-once-1");
    const again = await claim([WorkKind.WORK_KIND_BUILD], "claim-once-1");
    expect(first.work?.ref?.id).toBe(build.id);
    expect(again.work?.ref).toEqual(first.work?.ref);
    await complete({ work: first.work?.ref, outcome: Outcome.OUTCOME_FAILED, error: "done" });

    const token = "t".repeat(32);
    const post = (path: string) =>
      fetch(`${controlPlane.httpUrl}/api/agents/${identity.agentId}/${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
    expect(((await (await post("drain")).json()) as { drainedAt: string | null }).drainedAt).not.toBeNull();
    const waiting = await queueBuild();
    expect(await claim([WorkKind.WORK_KIND_BUILD])).toEqual({ work: undefined });
    expect(((await (await post("undrain")).json()) as { drainedAt: string | null }).drainedAt).toBeNull();
    expect((await claim([WorkKind.WORK_KIND_BUILD])).work?.ref?.id).toBe(waiting.id);

    expect((await post("revoke")).status).toBe(200);
    expect(await codeOf(claim([WorkKind.WORK_KIND_BUILD]))).toBe("UNAUTHENTICATED");
  });

  it("reports what it does in Prometheus format, to authenticated scrapers only", async () => {
    const url = `${controlPlane.httpUrl}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    const text = await (await fetch(url, { headers: { authorization: `Bearer ${"t".repeat(32)}` } })).text();
    expect(text).toMatch(/^slipway_queue_depth\{kind="build"\} \d+$/m);
    expect(text).toMatch(/^slipway_connected_agents \d+$/m);
    expect(text).toMatch(/^slipway_claim_duration_seconds_count\{result="work"\} [1-9]\d*$/m);
    expect(text).toMatch(/^slipway_dispatch_latency_seconds_count [1-9]\d*$/m);
    expect(text).toMatch(/^slipway_log_bytes_total [1-9]\d*$/m);
  });

  it("takes work given back by a restarted agent straight back to the queue, for its holder only", async () => {
    const { joinToken } = await createAgent(database.db, actor, { name: "releaser", capabilities: ["build"] });
    identity = await register(joinToken);
    const build = await queueBuild();
    const { work } = await claim([WorkKind.WORK_KIND_BUILD]);
    const ref = work?.ref as WorkRef;
    expect(ref.id).toBe(build.id);
    const release = (w: WorkRef) =>
      rpc(client.release as unknown as Call<unknown, unknown>, { work: w, reason: "the agent restarted" });
    expect(await codeOf(release({ ...ref, leaseToken: "00000000-0000-4000-8000-000000000bad" }))).toBe(
      "FAILED_PRECONDITION",
    );
    await release(ref);
    const row = await database.db.selectFrom("builds").selectAll().where("id", "=", build.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: "pending", attempt: 1, lease_token: null, claimed_by: null });
    // Given back twice: the second finds nothing to give.
    expect(await codeOf(release(ref))).toBe("FAILED_PRECONDITION");
    const again = await claim([WorkKind.WORK_KIND_BUILD]);
    expect(again.work?.ref).toMatchObject({ id: build.id, attempt: 2 });
  });
});
