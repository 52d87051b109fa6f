// Agents played by one process: real gRPC clients, each with its own connection and its own
// certificate from the control plane's CA, enrolled straight into the database (enrolment itself is
// not what they exercise). Used by the agent-channel benchmark and the reconnect-storm test.
import { randomUUID } from "node:crypto";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import type pg from "pg";
import {
  CertificateAuthority,
  readCertificateRequest,
  SecretBox,
  type CertificateRequest,
  type Db,
} from "@slipway/control-plane";
import { certificateRequest, fullJitterDelay, generatePrivateKey } from "@slipway/agent";
import {
  AgentServiceClient,
  CONTROL_PLANE_TLS_NAME,
  METADATA,
  Outcome,
  PROTOCOL_VERSION,
  WorkKind,
  type ClaimResponse,
  type Work,
  type WorkRef,
} from "@slipway/proto";

/** The organisation the first migration creates. */
const DEFAULT_ORG_ID = "00000000-0000-4000-8000-000000000001";

type Unary<Req, Res> = (req: Req, md: Metadata, cb: (e: ServiceError | null, r: Res) => void) => unknown;

export class SimulatedAgent {
  readonly client: AgentServiceClient;
  private readonly md = new Metadata();

  constructor(
    address: string,
    readonly id: string,
    tls: AgentTls,
  ) {
    // One connection per agent, as separate hosts would have, each mutual TLS with its own certificate.
    const channelCredentials = credentials.createSsl(
      Buffer.from(tls.caCertificatePem),
      Buffer.from(tls.privateKeyPem),
      Buffer.from(tls.certificatePem),
    );
    this.client = new AgentServiceClient(address, channelCredentials, {
      "grpc.use_local_subchannel_pool": 1,
      "grpc.ssl_target_name_override": CONTROL_PLANE_TLS_NAME,
    });
    this.md.set(METADATA.protocol, String(PROTOCOL_VERSION));
  }

  private call<Req, Res>(method: Unary<Req, Res>, request: Req): Promise<Res> {
    return new Promise((resolve, reject) =>
      method.call(this.client, request, this.md, (error, response) => (error ? reject(error) : resolve(response))),
    );
  }

  /** Claims a build; retrying with the same key returns the same build if the reply was lost. */
  claim(idempotencyKey: string = randomUUID()): Promise<Work | undefined> {
    return this.call(
      this.client.claim as unknown as Unary<{ kinds: WorkKind[]; idempotencyKey: string }, ClaimResponse>,
      { kinds: [WorkKind.WORK_KIND_BUILD], idempotencyKey },
    ).then((r) => r.work);
  }

  /** Whether the session stream is open and the control plane has spoken on it. */
  connected = false;

  /**
   * Keeps a session stream open as an agent does: when it ends, opens another after a full-jitter
   * backoff (the agent's own), so a fleet that lost its control plane does not return all at once.
   */
  stayConnected(): () => void {
    let stopped = false;
    let failures = 0;
    let cancel = () => {};
    const open = () => {
      if (stopped) return;
      const stream = this.client.session({ protocolVersion: PROTOCOL_VERSION, slots: 1 }, this.md);
      cancel = () => stream.cancel();
      stream.on("data", () => {
        this.connected = true;
        failures = 0;
      });
      stream.on("error", () => {});
      stream.on("close", () => {
        this.connected = false;
        setTimeout(open, fullJitterDelay(failures++));
      });
    };
    open();
    return () => {
      stopped = true;
      cancel();
    };
  }

  finish(ref: WorkRef): Promise<unknown> {
    return this.call(this.client.complete as unknown as Unary<unknown, unknown>, {
      work: ref,
      outcome: Outcome.OUTCOME_FAILED,
      error: "benchmark",
    });
  }

  heartbeat(held: WorkRef[]): Promise<unknown> {
    return this.call(this.client.heartbeat as unknown as Unary<unknown, unknown>, { held });
  }

  /** Opens the session stream; calls `onHint` for each work-available hint. */
  session(onHint: () => void): () => void {
    const stream = this.client.session({ protocolVersion: PROTOCOL_VERSION, slots: 1 }, this.md);
    stream.on("data", (message: { event?: { $case: string } }) => {
      if (message.event?.$case === "workAvailable") onHint();
    });
    stream.on("error", () => {});
    return () => stream.cancel();
  }

  close(): void {
    this.client.close();
  }
}

export interface AgentTls {
  caCertificatePem: string;
  privateKeyPem: string;
  certificatePem: string;
}

/**
 * Agents enrolled directly in the database, each with a certificate from the control plane's CA
 * (enrolment itself is not what is measured; one key serves them all, each has its own certificate).
 */
export async function enrolAgents(
  db: pg.Pool,
  ca: AgentCa,
  count: number,
  prefix: string,
): Promise<{ id: string; tls: AgentTls }[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await db.query(
    `INSERT INTO agents (id, org_id, name, capabilities, enrolled_at)
     SELECT id, $1, $3 || '-' || ordinality, ARRAY['build'], now()
     FROM unnest($2::uuid[]) WITH ORDINALITY AS a(id, ordinality)`,
    [DEFAULT_ORG_ID, ids, prefix],
  );
  return Promise.all(
    ids.map(async (id) => ({
      id,
      tls: {
        caCertificatePem: ca.authority.certificatePem,
        privateKeyPem: ca.privateKeyPem,
        certificatePem: (await ca.authority.issueAgentCertificate(ca.request, id, 24 * 3600)).certificatePem,
      },
    })),
  );
}

export interface AgentCa {
  authority: CertificateAuthority;
  privateKeyPem: string;
  /** One certificate request for that key, read once: every agent gets its own certificate for it. */
  request: CertificateRequest;
}

/** The CA the control plane created at start-up, and one key with its certificate request. */
export async function loadAgentCa(db: Db, secretKey: string): Promise<AgentCa> {
  const authority = await CertificateAuthority.loadOrCreate(db, new SecretBox(secretKey));
  const privateKeyPem = await generatePrivateKey();
  return { authority, privateKeyPem, request: await readCertificateRequest(await certificateRequest(privateKeyPem)) };
}
