// The agent channel's server side, over real gRPC, against a real control plane and database.
import { randomUUID } from "node:crypto";
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import {
  type AgentServiceClient,
  METADATA,
  Outcome,
  PROTOCOL_VERSION,
  Verdict,
  WorkKind,
  WorkPhase,
  type Work,
  type WorkRef,
} from "@slipway/proto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/database.js";
import { loadConfig } from "../config.js";
import { startControlPlane, type RunningControlPlane } from "../server.js";
import { TEST_ACTOR as actor, queueBuilds, seedService } from "../../../test-support/fixtures.js";
import type { Build } from "../db/schema.js";
import { createAgent } from "./enrolment.js";
import { enrolTestAgent } from "../../../test-support/agent-identity.js";
import { TEST_SECRET_KEY } from "../../../test-support/processes.js";
import { agentServiceClient, register as registerWithToken } from "../../../agent/src/channel/channel.js";
import { certificateRequest, fetchPinnedCa, generatePrivateKey } from "../../../agent/src/channel/certificates.js";
import type { AgentIdentity } from "../../../agent/src/channel/identity-store.js";
import { KEY_ALGORITHM, x509 } from "@slipway/proto/x509";
import { AgentChannel } from "../../../agent/src/channel/channel.js";
import { LogShipper } from "../../../agent/src/logs/log-shipper.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;

type Call<Req, Res> = (req: Req, md: Metadata, cb: (e: ServiceError | null, r: Res) => void) => unknown;

describe("agent channel (server side)", () => {
  let database: TestDatabase;
  let controlPlane: RunningControlPlane;
  let client: AgentServiceClient;
  let serviceId: string;
  let projectId: string;
  let identity: AgentIdentity;
  const clients: AgentServiceClient[] = [];

  const metadata = (protocol = String(PROTOCOL_VERSION)) => {
    const md = new Metadata();
    md.set(METADATA.protocol, protocol);
    return md;
  };

  function rpc<Req, Res>(method: Call<Req, Res>, request: Req, md = metadata(), as = client): Promise<Res> {
    return new Promise((resolve, reject) =>
      method.call(as, request, md, (error, response) => (error ? reject(error) : resolve(response))),
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

  /** Enrols an agent and makes it the one every following call comes from. */
  async function becomeAgent(joinToken: string): Promise<AgentIdentity> {
    const enrolled = await enrolTestAgent(controlPlane.grpcAddress, joinToken);
    clients.push(enrolled.client);
    client = enrolled.client;
    identity = enrolled.identity;
    return identity;
  }

  const queueBuild = async () => (await queueBuilds(database.db, serviceId))[0] as Build;

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
        SLIPWAY_SECRET_KEY: TEST_SECRET_KEY,
        LOG_LEVEL: "silent",
      }),
      { migrate: false },
    );
    ({ projectId, serviceId } = await seedService(database.db, {
      name: "api",
      gitUrl: "https://example.invalid/acme/api.git",
      containerPort: 3000,
      replicas: 2,
    }));
    const { joinToken } = await createAgent(database.db, actor, { name: "worker", capabilities: ["build", "deploy"] });
    await becomeAgent(joinToken);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await controlPlane?.stop();
    await database?.drop();
  });

  it("enrols a key it never sees, once per join token, and names the agent in its certificate", async () => {
    const { joinToken, agent } = await createAgent(database.db, actor, { name: "once", capabilities: ["build"] });
    const ca = await fetchPinnedCa(controlPlane.grpcAddress, joinToken.split(".")[1] as string);
    const key = await generatePrivateKey();
    const enrol = async (privateKeyPem: string) =>
      registerWithToken(controlPlane.grpcAddress, ca, {
        joinToken,
        hostname: "test-host",
        agentVersion: "test",
        csrPem: await certificateRequest(privateKeyPem),
      });
    const first = await enrol(key);
    expect(first.agentId).toBe(agent.id);
    const certificate = new x509.X509Certificate(first.certificatePem);
    expect(certificate.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: "url", value: `urn:slipway:agent:${agent.id}` },
    ]);
    // The reply was lost and the agent retries with its saved key: it gets a certificate again.
    const retried = await enrol(key);
    expect(retried.agentId).toBe(agent.id);
    // Anyone else holding the spent token gets nothing.
    await expect(enrol(await generatePrivateKey())).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    const row = await database.db.selectFrom("agents").selectAll().where("id", "=", agent.id).executeTakeFirstOrThrow();
    expect(row.enrolled_at).not.toBeNull();
    expect(row.certificate_serial).toMatch(/^[0-9a-f]+$/);
    expect(JSON.stringify(row)).not.toContain(joinToken.slice(4, 40));
    // A request that is not a certificate request changes nothing.
    const { joinToken: other } = await createAgent(database.db, actor, { name: "garbled", capabilities: ["build"] });
    await expect(
      registerWithToken(controlPlane.grpcAddress, ca, {
        joinToken: other,
        hostname: "h",
        agentVersion: "t",
        csrPem: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----",
      }),
    ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    const garbled = await database.db
      .selectFrom("agents")
      .select("enrolled_at")
      .where("name", "=", "garbled")
      .executeTakeFirstOrThrow();
    expect(garbled.enrolled_at).toBeNull();
  });

  it("refuses calls without a certificate from its CA, or with another protocol version", async () => {
    const claimAs = (as: AgentServiceClient, md = metadata()) =>
      codeOf(rpc(client.claim as Call<unknown, unknown>, { kinds: [] }, md, as));
    // TLS to the right server, but no client certificate.
    const anonymous = agentServiceClient(controlPlane.grpcAddress, { caCertificatePem: identity.caCertificatePem });
    clients.push(anonymous);
    expect(await claimAs(anonymous)).toBe("UNAUTHENTICATED");
    // A certificate naming this very agent, from a CA of someone else's.
    const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
    const forged = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "01",
      name: "CN=slipway-agent",
      keys,
      signingAlgorithm: KEY_ALGORITHM,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      extensions: [
        new x509.SubjectAlternativeNameExtension([{ type: "url", value: `urn:slipway:agent:${identity.agentId}` }]),
      ],
    });
    const pkcs8 = Buffer.from(await crypto.subtle.exportKey("pkcs8", keys.privateKey)).toString("base64");
    const impostor = agentServiceClient(controlPlane.grpcAddress, {
      caCertificatePem: identity.caCertificatePem,
      certificatePem: forged.toString("pem"),
      privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8}\n-----END PRIVATE KEY-----\n`,
    });
    clients.push(impostor);
    expect(await claimAs(impostor)).not.toBe("OK");
    expect(await claimAs(client)).toBe("OK");
    expect(await claimAs(client, metadata("2"))).toBe("FAILED_PRECONDITION");
    expect(await claimAs(client, new Metadata())).toBe("FAILED_PRECONDITION");
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

  it("gives a service's work only to agents carrying the labels it requires, and wakes those", async () => {
    const { serviceId: gpuService } = await seedService(database.db, {
      name: "trainer",
      replicas: 1,
      buildAgentLabels: { gpu: "yes" },
      deployAgentLabels: { region: "eu" },
    });
    const { joinToken } = await createAgent(database.db, actor, {
      name: "eu-gpu",
      capabilities: ["build", "deploy"],
      labels: { gpu: "yes", region: "eu", arch: "amd64" },
    });
    const labelled = await enrolTestAgent(controlPlane.grpcAddress, joinToken);
    clients.push(labelled.client);
    const claimAs = (as: AgentServiceClient, kind: WorkKind) =>
      rpc(
        client.claim as unknown as Call<{ kinds: WorkKind[]; idempotencyKey: string }, { work?: Work }>,
        { kinds: [kind], idempotencyKey: "" },
        metadata(),
        as,
      );

    /** A session stream, what it received in order, and a promise per event (two hints come on connect). */
    const openSession = (as: AgentServiceClient) => {
      const events: (WorkKind | "cancel")[] = [];
      const waiters = new Map<number, () => void>();
      const stream = as.session({ protocolVersion: PROTOCOL_VERSION, slots: 4 }, metadata());
      stream.on("data", (message: { event?: { $case: string; value: { kind: WorkKind } } }) => {
        if (message.event?.$case === "workAvailable") events.push(message.event.value.kind);
        else if (message.event?.$case === "cancel") events.push("cancel");
        else return;
        waiters.get(events.length)?.();
      });
      stream.on("error", () => {});
      const received = (n: number) =>
        new Promise<void>((resolve) => (events.length >= n ? resolve() : waiters.set(n, resolve)));
      return { stream, events, received };
    };
    const plain = openSession(client);
    const gpu = openSession(labelled.client);
    await Promise.all([plain.received(2), gpu.received(2)]);
    const connectHints = [WorkKind.WORK_KIND_BUILD, WorkKind.WORK_KIND_DEPLOY];

    // The plain agent holds a build (both agents were woken for it), whose cancel will mark a point
    // on its stream.
    const [marker] = await queueBuilds(database.db, serviceId);
    await Promise.all([plain.received(3), gpu.received(3)]);
    const held = await claimAs(client, WorkKind.WORK_KIND_BUILD);
    expect(held.work?.ref?.id).toBe(marker?.id);
    const before = [...connectHints, WorkKind.WORK_KIND_BUILD];

    // Only the agent that could claim it is woken by the labelled build: the plain agent's stream
    // carries nothing more before the cancel sent after that build was hinted.
    const [gpuBuild] = await queueBuilds(database.db, gpuService);
    await gpu.received(4);
    expect((await cancelViaApi(marker?.id as string)).status).toBe(202);
    await plain.received(4);
    expect(plain.events).toEqual([...before, "cancel"]);
    await complete({ work: held.work?.ref, outcome: Outcome.OUTCOME_CANCELLED, error: "cancelled by a user" });

    // A plain build wakes the plain agent.
    const [plainBuild] = await queueBuilds(database.db, serviceId);
    await plain.received(5);
    expect(plain.events).toEqual([...before, "cancel", WorkKind.WORK_KIND_BUILD]);

    // The older build is the labelled one; the plain agent passes it by.
    const passedBy = await claimAs(client, WorkKind.WORK_KIND_BUILD);
    expect(passedBy.work?.ref?.id).toBe(plainBuild?.id);
    expect(await claimAs(client, WorkKind.WORK_KIND_BUILD)).toEqual({ work: undefined });
    const taken = await claimAs(labelled.client, WorkKind.WORK_KIND_BUILD);
    expect(taken.work?.ref?.id).toBe(gpuBuild?.id);
    await complete({ work: passedBy.work?.ref, outcome: Outcome.OUTCOME_FAILED, error: "cleanup" });
    await rpc(
      client.complete as Call<unknown, unknown>,
      {
        work: taken.work?.ref,
        outcome: Outcome.OUTCOME_SUCCEEDED,
        result: { $case: "build", value: { imageRef: "ignored", imageDigest: DIGEST } },
      },
      metadata(),
      labelled.client,
    );

    // Its deployment needs region=eu, which the plain agent lacks.
    expect(await claimAs(client, WorkKind.WORK_KIND_DEPLOY)).toEqual({ work: undefined });
    const item = await claimAs(labelled.client, WorkKind.WORK_KIND_DEPLOY);
    expect(item.work?.spec).toMatchObject({ $case: "deploy", value: { serviceId: gpuService, replicaIndex: 0 } });
    await rpc(
      client.complete as Call<unknown, unknown>,
      { work: item.work?.ref, outcome: Outcome.OUTCOME_FAILED, error: "cleanup" },
      metadata(),
      labelled.client,
    );
    plain.stream.cancel();
    gpu.stream.cancel();
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

    // One deploy item per replica, running the image by the digest the build pushed (never its tag),
    // with the deployment's place among the service's deployments.
    const { sequence } = await database.db
      .selectFrom("deployments")
      .select("sequence")
      .where("build_id", "=", build.id)
      .executeTakeFirstOrThrow();
    const replicas: WorkRef[] = [];
    for (let i = 0; i < 2; i++) {
      const { work: item } = await claim([WorkKind.WORK_KIND_DEPLOY]);
      expect(item?.spec).toMatchObject({
        $case: "deploy",
        value: {
          serviceId,
          replicaIndex: i,
          imageRef: `registry.test:5000/${projectId}/${serviceId}@${DIGEST}`,
          containerPort: 3000,
          env: { PORT: "3000" },
          deploymentSequence: sequence,
        },
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
    // Nor can it renew its way back in.
    const renew = rpc(client.renewCertificate as Call<unknown, unknown>, {
      csrPem: await certificateRequest(await generatePrivateKey()),
    });
    expect(await codeOf(renew)).toBe("UNAUTHENTICATED");
  });

  it("renews an agent's certificate for a new key; the new certificate names the same agent", async () => {
    const { joinToken } = await createAgent(database.db, actor, { name: "renewer", capabilities: ["build"] });
    const before = await becomeAgent(joinToken);
    const privateKeyPem = await generatePrivateKey();
    const { certificatePem } = await rpc(
      client.renewCertificate as Call<{ csrPem: string }, { certificatePem: string }>,
      { csrPem: await certificateRequest(privateKeyPem) },
    );
    const oldCert = new x509.X509Certificate(before.certificatePem);
    const newCert = new x509.X509Certificate(certificatePem);
    expect(newCert.serialNumber).not.toBe(oldCert.serialNumber);
    expect(newCert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: "url", value: `urn:slipway:agent:${before.agentId}` },
    ]);
    const renewed = agentServiceClient(controlPlane.grpcAddress, { ...before, privateKeyPem, certificatePem });
    clients.push(renewed);
    expect(await codeOf(rpc(client.claim as Call<unknown, unknown>, { kinds: [] }, metadata(), renewed))).toBe("OK");
    const row = await database.db
      .selectFrom("agents")
      .select("certificate_serial")
      .where("id", "=", before.agentId)
      .executeTakeFirstOrThrow();
    expect(row.certificate_serial).toBe(newCert.serialNumber);
    // Garbage instead of a request is refused with a reason, and changes nothing.
    expect(await codeOf(rpc(client.renewCertificate as Call<unknown, unknown>, { csrPem: "hello" }))).toBe(
      "INVALID_ARGUMENT",
    );
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

  it("lets a relabelled agent take work that waited for its new labels, and renews its session", async () => {
    const { serviceId: zoned } = await seedService(database.db, { name: "zoned", buildAgentLabels: { zone: "b" } });
    const { joinToken, agent } = await createAgent(database.db, actor, { name: "relabelled", capabilities: ["build"] });
    await becomeAgent(joinToken);
    const [build] = await queueBuilds(database.db, zoned);
    expect(await claim([WorkKind.WORK_KIND_BUILD])).toEqual({ work: undefined });

    const stream = client.session({ protocolVersion: PROTOCOL_VERSION, slots: 1 }, metadata());
    const ended = new Promise<void>((resolve) => stream.on("status", () => resolve()));
    stream.on("error", () => {});
    await new Promise<void>((resolve) => stream.once("data", () => resolve()));

    const patch = (id: string, body: unknown) =>
      fetch(`${controlPlane.httpUrl}/api/agents/${id}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${"t".repeat(32)}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await patch(agent.id, { labels: { "Bad Key": "x" } })).status).toBe(400);
    expect((await patch(agent.id, { labels: { zone: "b" }, slots: 9 })).status).toBe(400);
    expect((await patch("00000000-0000-4000-8000-000000000000", { labels: {} })).status).toBe(404);
    expect(await claim([WorkKind.WORK_KIND_BUILD])).toEqual({ work: undefined });

    const relabelled = await patch(agent.id, { labels: { zone: "b" } });
    expect(relabelled.status).toBe(200);
    expect(((await relabelled.json()) as { labels: Record<string, string> }).labels).toEqual({ zone: "b" });
    // Its open session ends, so that it comes back as it now is; then the waiting build is its.
    await ended;
    const { work } = await claim([WorkKind.WORK_KIND_BUILD]);
    expect(work?.ref?.id).toBe(build?.id);
    await complete({ work: work?.ref, outcome: Outcome.OUTCOME_FAILED, error: "cleanup" });
  });

  it("takes work given back by a stopping agent straight back to the queue, for its holder only", async () => {
    const { joinToken } = await createAgent(database.db, actor, { name: "releaser", capabilities: ["build"] });
    await becomeAgent(joinToken);
    const build = await queueBuild();
    const { work } = await claim([WorkKind.WORK_KIND_BUILD]);
    const ref = work?.ref as WorkRef;
    expect(ref.id).toBe(build.id);
    const release = (w: WorkRef) =>
      rpc(client.release as unknown as Call<unknown, unknown>, { work: w, reason: "the agent stopped" });
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

  it("tells a restarted agent, for each item it held, to run it again, complete it as cancelled, or forget it", async () => {
    const { joinToken } = await createAgent(database.db, actor, {
      name: "restarter",
      capabilities: ["build", "deploy"],
    });
    await becomeAgent(joinToken);
    type Verdicts = {
      verdicts: { work?: WorkRef; verdict: Verdict; reason: string; resumed?: Work; nextLogSeq: number }[];
    };
    const resume = (held: WorkRef[], idempotencyKey: string) =>
      rpc(client.resume as unknown as Call<{ held: WorkRef[]; idempotencyKey: string }, Verdicts>, {
        held,
        idempotencyKey,
      });

    // Held mid-build with two log chunks stored; held and cancelled; held past its lease; not held.
    const running = await queueBuild();
    const runningRef = await claimOnly(running.id);
    await report(runningRef, WorkPhase.WORK_PHASE_CLONING);
    await report(runningRef, WorkPhase.WORK_PHASE_BUILDING);
    await appendLog(runningRef, 1, "one\n");
    await appendLog(runningRef, 2, "two\n");
    const cancelled = await queueBuild();
    const cancelledRef = await claimOnly(cancelled.id);
    expect((await cancelViaApi(cancelled.id)).status).toBe(202);
    const expired = await queueBuild();
    const expiredRef = await claimOnly(expired.id);
    await database.db
      .updateTable("builds")
      .set({ lease_expires_at: sql<Date>`now() - interval '1 second'` })
      .where("id", "=", expired.id)
      .execute();
    const unknown = { ...runningRef, id: randomUUID() };

    // Bad input is refused whole and changes nothing.
    expect(await codeOf(resume([runningRef, { ...unknown, id: "not-a-uuid" }], "restart-1"))).toBe("INVALID_ARGUMENT");
    expect(
      await codeOf(
        resume(
          Array.from({ length: 257 }, () => runningRef),
          "restart-1",
        ),
      ),
    ).toBe("INVALID_ARGUMENT");
    expect(await codeOf(resume([runningRef], ""))).toBe("INVALID_ARGUMENT");
    expect(await buildRow(running.id)).toMatchObject({ status: "building", resumes: 0 });

    const held = [runningRef, cancelledRef, unknown, expiredRef];
    const { verdicts } = await resume(held, "restart-1");
    expect(verdicts.map((v) => [v.work?.id, v.verdict])).toEqual([
      [running.id, Verdict.VERDICT_CONTINUE],
      [cancelled.id, Verdict.VERDICT_CANCEL],
      [unknown.id, Verdict.VERDICT_LOST],
      [expired.id, Verdict.VERDICT_LOST],
    ]);
    // The same attempt starts over under a new lease token, with a fresh lease and the log going on at 3.
    const goOn = verdicts[0];
    const resumedRef = goOn?.resumed?.ref as WorkRef;
    expect(resumedRef).toMatchObject({ id: running.id, attempt: 1 });
    expect(resumedRef.leaseToken).not.toBe(runningRef.leaseToken);
    expect(goOn?.resumed?.spec?.$case).toBe("build");
    expect(goOn?.resumed?.leaseExpiresAt?.getTime()).toBeGreaterThan(Date.now() + 30_000);
    expect(goOn?.nextLogSeq).toBe(3);
    expect(await buildRow(running.id)).toMatchObject({ status: "claimed", attempt: 1, resumes: 1 });
    // The reply was lost and the agent asks again: the same answers, nothing done twice.
    const retried = await resume(held, "restart-1");
    expect(retried.verdicts.map((v) => v.verdict)).toEqual(verdicts.map((v) => v.verdict));
    expect(retried.verdicts[0]?.resumed?.ref).toEqual(resumedRef);
    const startsOver = await database.db
      .selectFrom("build_status_history")
      .select(["from_status", "to_status", "reason"])
      .where("build_id", "=", running.id)
      .where("reason", "like", "the agent restarted%")
      .execute();
    expect(startsOver).toEqual([
      { from_status: "building", to_status: "claimed", reason: "the agent restarted; attempt 1 starts over" },
    ]);
    // Whatever the killed run still had in flight carries the old token: refused.
    expect(await codeOf(appendLog(runningRef, 3, "late\n"))).toBe("FAILED_PRECONDITION");
    await appendLog(resumedRef, 3, "three\n");

    // The cancelled one is for the agent to complete as cancelled; the expired one went back to the queue.
    await complete({ work: cancelledRef, outcome: Outcome.OUTCOME_CANCELLED, error: verdicts[1]?.reason });
    expect(await buildRow(cancelled.id)).toMatchObject({ status: "cancelled", status_reason: "cancelled by a user" });
    expect(verdicts[3]?.reason).toBe("its lease expired while the agent was down; it was given back");
    expect(await buildRow(expired.id)).toMatchObject({ status: "pending", claimed_by: null });

    // A claim is resumed once: an agent that restarts again gives the attempt back. Named twice, an
    // item can go on only once.
    const second = await resume([resumedRef, resumedRef], "restart-2");
    expect(second.verdicts.map((v) => [v.verdict, v.reason])).toEqual([
      [Verdict.VERDICT_LOST, "the agent restarted again while running it; it was given back"],
      [Verdict.VERDICT_LOST, "named twice"],
    ]);
    expect(await buildRow(running.id)).toMatchObject({ status: "pending", attempt: 1, claimed_by: null });

    // A replica item starts over too (the agent adopts its container); a spent one goes back to the
    // queue, for this agent or another, like a build: a service must not stay a replica short.
    const ref = await claimOnly(running.id);
    await complete({
      work: ref,
      outcome: Outcome.OUTCOME_SUCCEEDED,
      result: { $case: "build", value: { imageRef: "ignored", imageDigest: DIGEST } },
    });
    const { work: item } = await claim([WorkKind.WORK_KIND_DEPLOY]);
    const itemRef = item?.ref as WorkRef;
    await report(itemRef, WorkPhase.WORK_PHASE_PULLING);
    const replica = await resume([itemRef], "restart-3");
    expect(replica.verdicts[0]?.verdict).toBe(Verdict.VERDICT_CONTINUE);
    expect(replica.verdicts[0]?.resumed?.spec?.$case).toBe("deploy");
    const resumedItem = replica.verdicts[0]?.resumed?.ref as WorkRef;
    expect(resumedItem).toMatchObject({ id: itemRef.id, attempt: itemRef.attempt });
    const spent = await resume([resumedItem], "restart-4");
    expect(spent.verdicts[0]?.verdict).toBe(Verdict.VERDICT_LOST);
    expect(spent.verdicts[0]?.reason).toBe("the agent restarted again while running it; it was given back");
    const itemRow = await database.db
      .selectFrom("deploy_work_items")
      .select(["status", "claimed_by"])
      .where("id", "=", itemRef.id)
      .executeTakeFirstOrThrow();
    expect(itemRow).toEqual({ status: "pending", claimed_by: null });
    // Leave nothing claimable behind for the next tests.
    for (;;) {
      const { work } = await claim();
      if (!work?.ref) break;
      await complete({ work: work.ref, outcome: Outcome.OUTCOME_FAILED, error: "cleanup" });
    }
  });

  // ---- faults: cancels in every phase, repeated messages, a failing database ------------------

  const cancelViaApi = (buildId: string) =>
    fetch(`${controlPlane.httpUrl}/api/builds/${buildId}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${"t".repeat(32)}` },
    });
  const buildRow = (id: string) =>
    database.db.selectFrom("builds").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  const terminalEntries = async (id: string) =>
    (
      await database.db
        .selectFrom("build_status_history")
        .select("to_status")
        .where("build_id", "=", id)
        .where("to_status", "in", ["completed", "failed", "cancelled"])
        .execute()
    ).length;

  /** A fresh agent that claims exactly `buildId` (earlier tests may have left other builds queued). */
  async function claimOnly(buildId: string): Promise<WorkRef> {
    for (;;) {
      const { work } = await claim([WorkKind.WORK_KIND_BUILD]);
      if (!work?.ref) throw new Error(`build ${buildId} was not claimable`);
      if (work.ref.id === buildId) return work.ref;
      await complete({ work: work.ref, outcome: Outcome.OUTCOME_FAILED, error: "not this test's build" });
    }
  }

  it("cancels a build in every phase: queued, claimed, cloning, building and pushing", async () => {
    const { joinToken } = await createAgent(database.db, actor, { name: "canceller", capabilities: ["build"] });
    await becomeAgent(joinToken);
    const queued = await queueBuild();
    expect((await cancelViaApi(queued.id)).status).toBe(202);
    expect(await buildRow(queued.id)).toMatchObject({ status: "cancelled", claimed_by: null });

    const phases = [[], [WorkPhase.WORK_PHASE_CLONING]];
    phases.push([...(phases[1] as WorkPhase[]), WorkPhase.WORK_PHASE_BUILDING]);
    phases.push([...(phases[2] as WorkPhase[]), WorkPhase.WORK_PHASE_PUSHING]);
    for (const reached of phases) {
      const build = await queueBuild();
      const ref = await claimOnly(build.id);
      for (const phase of reached) await report(ref, phase);
      expect((await cancelViaApi(build.id)).status).toBe(202);
      // The heartbeat carries the cancel (the stream does too, when the agent has one open).
      const { verdicts } = await heartbeat([ref]);
      expect(verdicts).toEqual([expect.objectContaining({ verdict: Verdict.VERDICT_CANCEL })]);
      await complete({ work: ref, outcome: Outcome.OUTCOME_CANCELLED, error: "cancelled by a user" });
      expect(await buildRow(build.id)).toMatchObject({ status: "cancelled", status_reason: "cancelled by a user" });
      expect(await terminalEntries(build.id)).toBe(1);
    }
  });

  it("gives a cancel racing a claim or a completion exactly one outcome", async () => {
    const { joinToken } = await createAgent(database.db, actor, { name: "racer", capabilities: ["build"] });
    await becomeAgent(joinToken);
    for (let round = 0; round < 10; round++) {
      // Cancel against claim: either the build is cancelled before anyone runs it, or the agent
      // holds it and is told to cancel.
      const queued = await queueBuild();
      const [cancelled, claimed] = await Promise.all([cancelViaApi(queued.id), claim([WorkKind.WORK_KIND_BUILD])]);
      expect(cancelled.status).toBe(202);
      if (claimed.work?.ref?.id === queued.id) {
        const { verdicts } = await heartbeat([claimed.work.ref]);
        expect(verdicts[0]?.verdict).toBe(Verdict.VERDICT_CANCEL);
        await complete({ work: claimed.work.ref, outcome: Outcome.OUTCOME_CANCELLED, error: "cancelled" });
      } else if (claimed.work?.ref) {
        await complete({ work: claimed.work.ref, outcome: Outcome.OUTCOME_FAILED, error: "not this test's build" });
      }
      expect((await buildRow(queued.id)).status).toBe("cancelled");
      expect(await terminalEntries(queued.id)).toBe(1);

      // Cancel against completion: whichever lands first decides, and only one terminal write exists.
      const running = await queueBuild();
      const ref = await claimOnly(running.id);
      await report(ref, WorkPhase.WORK_PHASE_PUSHING);
      const [cancel, completion] = await Promise.all([
        cancelViaApi(running.id),
        codeOf(
          complete({
            work: ref,
            outcome: Outcome.OUTCOME_SUCCEEDED,
            result: { $case: "build", value: { imageRef: "ignored", imageDigest: DIGEST } },
          }),
        ),
      ]);
      expect(completion).toBe("OK");
      expect([202, 409]).toContain(cancel.status);
      expect((await buildRow(running.id)).status).toBe("completed");
      expect(await terminalEntries(running.id)).toBe(1);
      // A cancel arriving after the end is refused, and so is a second terminal write.
      expect((await cancelViaApi(running.id)).status).toBe(409);
      expect(await codeOf(complete({ work: ref, outcome: Outcome.OUTCOME_CANCELLED, error: "late" }))).toBe(
        "FAILED_PRECONDITION",
      );
    }
  });

  it("refuses malformed container log messages, and tells the agent to stop a stream nobody reads", async () => {
    const send = (request: unknown) => rpc(client.sendContainerLogs as Call<unknown, { stop: boolean }>, request);
    const end = { $case: "end", value: { error: "" } };
    expect(await codeOf(send({ requestId: "not-a-uuid", event: end }))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(send({ requestId: randomUUID() }))).toBe("INVALID_ARGUMENT");
    const chunk = { $case: "chunk", value: { lines: [{ stream: 1, line: "hello", truncated: false }] } };
    expect(await send({ requestId: randomUUID(), event: chunk })).toEqual({ stop: true });
  });

  it("stores repeated and out-of-order log chunks once each, in order, and ignores stale phase reports", async () => {
    const { joinToken } = await createAgent(database.db, actor, { name: "repeater", capabilities: ["build"] });
    await becomeAgent(joinToken);
    const build = await queueBuild();
    const ref = await claimOnly(build.id);
    await report(ref, WorkPhase.WORK_PHASE_CLONING);
    await report(ref, WorkPhase.WORK_PHASE_BUILDING);
    for (const [seq, text] of [
      [1, "one\n"],
      [2, "two\n"],
      [2, "two\n"],
      [4, "four\n"],
      [3, "three\n"],
      [1, "one\n"],
    ] as const) {
      expect((await appendLog(ref, seq, text)).ackedSeq).toBe(seq);
    }
    // A phase already passed, and the same phase again, change nothing.
    await report(ref, WorkPhase.WORK_PHASE_CLONING);
    await report(ref, WorkPhase.WORK_PHASE_BUILDING);
    expect((await buildRow(build.id)).status).toBe("building");
    const history = await database.db
      .selectFrom("build_status_history")
      .select("to_status")
      .where("build_id", "=", build.id)
      .orderBy("id")
      .execute();
    expect(history.map((h) => h.to_status)).toEqual(["pending", "claimed", "cloning", "building"]);
    const res = await fetch(`${controlPlane.httpUrl}/api/builds/${build.id}/logs`, {
      headers: { authorization: `Bearer ${"t".repeat(32)}` },
    });
    const { chunks } = (await res.json()) as { chunks: { seq: number; text: string }[] };
    expect(chunks.map((c) => c.seq)).toEqual([1, 2, 3, 4]);
    expect(chunks.map((c) => c.text).join("")).toBe("one\ntwo\nthree\nfour\n");
    await complete({ work: ref, outcome: Outcome.OUTCOME_FAILED, error: "done" });
  });

  it("answers a database error on log append with an error the agent retries; nothing is dropped", async () => {
    const { joinToken } = await createAgent(database.db, actor, { name: "faulty-db", capabilities: ["build"] });
    const agentIdentity = await becomeAgent(joinToken);
    const build = await queueBuild();
    const ref = await claimOnly(build.id);
    // The next three inserts into the log table fail, as on a full disk. A sequence counts them
    // outside the failing transactions.
    await sql`CREATE SEQUENCE log_faults`.execute(database.db);
    await sql`CREATE FUNCTION fail_three_log_writes() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF nextval('log_faults') <= 3 THEN RAISE EXCEPTION 'injected fault: could not extend file'; END IF;
        RETURN NEW;
      END $$`.execute(database.db);
    await sql`CREATE TRIGGER log_faults BEFORE INSERT ON build_log_chunks
      FOR EACH ROW EXECUTE FUNCTION fail_three_log_writes()`.execute(database.db);
    const channel = new AgentChannel(agentIdentity);
    const errors: string[] = [];
    const shipper = new LogShipper(async (seq, data) => {
      try {
        await channel.appendLog({ work: ref, seq, data });
      } catch (error) {
        errors.push(status[(error as ServiceError).code] as string);
        throw error;
      }
    });
    try {
      for (let i = 1; i <= 5; i++) shipper.line(`line ${i}`);
      await shipper.flush();
    } finally {
      shipper.close();
      channel.close();
      await sql`DROP TRIGGER log_faults ON build_log_chunks`.execute(database.db);
      await sql`DROP FUNCTION fail_three_log_writes`.execute(database.db);
    }
    expect(errors).toEqual(["INTERNAL", "INTERNAL", "INTERNAL"]);
    const stored = await database.db
      .selectFrom("build_log_chunks")
      .select("data")
      .where("build_id", "=", build.id)
      .orderBy("seq")
      .execute();
    expect(stored.map((c) => c.data.toString()).join("")).toBe("line 1\nline 2\nline 3\nline 4\nline 5\n");
    await complete({ work: ref, outcome: Outcome.OUTCOME_FAILED, error: "done" });
  });
});
