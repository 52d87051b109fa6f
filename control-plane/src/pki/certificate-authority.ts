// The control plane's own certificate authority for the agent channel. It signs each agent's
// certificate request at enrolment and rotation (the agent id goes in the certificate), and a
// certificate for each control plane's gRPC server. One CA serves every control plane on the
// database: the first to start creates it, the others load it; its key is sealed at rest.
import { createHash, randomBytes, webcrypto, X509Certificate } from "node:crypto";
import { AGENT_CERTIFICATE_URI_PREFIX, CONTROL_PLANE_TLS_NAME } from "@slipway/proto";
import { KEY_ALGORITHM, x509 } from "@slipway/proto/x509";
import type { Db } from "../db/database.js";
import { DomainError } from "../errors.js";
import type { SecretBox } from "../crypto/secret-box.js";

const CA_VALIDITY_DAYS = 3650;
const SERVER_VALIDITY_DAYS = 90;
/** Covers clock skew between control planes, which check each other's certificates. */
const BACKDATE_MS = 60_000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate request the CA will not sign, and why. */
export class CertificateRequestError extends DomainError {
  override name = "CertificateRequestError";
  constructor(message: string) {
    super("invalid", message);
  }
}

export interface IssuedCertificate {
  certificatePem: string;
  serial: string;
  expiresAt: Date;
}

/** A certificate request whose self-signature checked out: the sender holds this key. */
export interface CertificateRequest {
  publicKey: x509.PublicKey;
  /** sha256 of the key's SubjectPublicKeyInfo. */
  keySha256: Buffer;
}

/** The digest an agent pins the CA by (carried inside join tokens): sha256 of its DER, base64url. */
export function caPin(certificatePem: string): string {
  return createHash("sha256").update(new X509Certificate(certificatePem).raw).digest("base64url");
}

const serialNumber = () => {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f; // positive, as RFC 5280 requires
  return bytes.toString("hex");
};

export class CertificateAuthority {
  private constructor(
    readonly certificatePem: string,
    private readonly certificate: x509.X509Certificate,
    private readonly privateKey: webcrypto.CryptoKey,
  ) {}

  /** The digest agents pin this CA by. */
  get pin(): string {
    return caPin(this.certificatePem);
  }

  /** Loads the CA, creating it if this is the first control plane ever to start on the database. */
  static async loadOrCreate(db: Db, box: SecretBox): Promise<CertificateAuthority> {
    let row = await db.selectFrom("certificate_authority").selectAll().executeTakeFirst();
    if (!row) {
      const created = await CertificateAuthority.create();
      // Two control planes starting at once: one insert wins, and both load the winner.
      await db
        .insertInto("certificate_authority")
        .values({ certificate_pem: created.certificatePem, private_key_enc: box.seal(created.privateKeyPem) })
        .onConflict((oc) => oc.doNothing())
        .execute();
      row = await db.selectFrom("certificate_authority").selectAll().executeTakeFirstOrThrow();
    }
    const privateKey = await webcrypto.subtle.importKey(
      "pkcs8",
      pemBody(box.open(row.private_key_enc)),
      KEY_ALGORITHM,
      false,
      ["sign"],
    );
    return new CertificateAuthority(row.certificate_pem, new x509.X509Certificate(row.certificate_pem), privateKey);
  }

  private static async create(): Promise<{ certificatePem: string; privateKeyPem: string }> {
    const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
    const now = Date.now();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serialNumber(),
      name: `CN=Slipway agent channel CA ${randomBytes(4).toString("hex")}`,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + CA_VALIDITY_DAYS * DAY_MS),
      keys,
      signingAlgorithm: KEY_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
    return { certificatePem: certificate.toString("pem"), privateKeyPem: toPem("PRIVATE KEY", pkcs8) };
  }

  /**
   * Certifies the key of an agent's (already verified) certificate request. The certificate names
   * the agent only by the id given here, whatever the request asked for.
   */
  async issueAgentCertificate(
    request: CertificateRequest,
    agentId: string,
    validitySeconds: number,
  ): Promise<IssuedCertificate> {
    // Agents renew after two thirds of the whole validity; a backdate larger than a tenth of it
    // would move that point too close to the moment of issue.
    const backdateMs = Math.min(BACKDATE_MS, (validitySeconds * 1000) / 10);
    return this.signLeaf({
      subject: `CN=slipway-agent ${agentId}`,
      publicKey: request.publicKey,
      validityMs: validitySeconds * 1000,
      backdateMs,
      usage: x509.ExtendedKeyUsage.clientAuth,
      name: { type: "url", value: `${AGENT_CERTIFICATE_URI_PREFIX}${agentId}` },
    });
  }

  /** A fresh key and certificate for this control plane's gRPC server; the chain includes the CA. */
  async issueServerCertificate(): Promise<{ certificateChainPem: string; privateKeyPem: string; expiresAt: Date }> {
    const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
    const issued = await this.signLeaf({
      subject: `CN=${CONTROL_PLANE_TLS_NAME}`,
      publicKey: keys.publicKey,
      validityMs: SERVER_VALIDITY_DAYS * DAY_MS,
      backdateMs: BACKDATE_MS,
      usage: x509.ExtendedKeyUsage.serverAuth,
      name: { type: "dns", value: CONTROL_PLANE_TLS_NAME },
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
    return {
      certificateChainPem: `${issued.certificatePem}\n${this.certificatePem}`,
      privateKeyPem: toPem("PRIVATE KEY", pkcs8),
      expiresAt: issued.expiresAt,
    };
  }

  /** An end-entity certificate for one purpose (client or server) and one name, signed by this CA. */
  private async signLeaf(leaf: {
    subject: string;
    publicKey: x509.PublicKey | webcrypto.CryptoKey;
    validityMs: number;
    backdateMs: number;
    usage: string;
    name: { type: "url" | "dns"; value: string };
  }): Promise<IssuedCertificate> {
    const now = Date.now();
    const serial = serialNumber();
    const expiresAt = new Date(now + leaf.validityMs);
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: leaf.subject,
      issuer: this.certificate.subject,
      notBefore: new Date(now - leaf.backdateMs),
      notAfter: expiresAt,
      publicKey: leaf.publicKey,
      signingKey: this.privateKey,
      signingAlgorithm: KEY_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([leaf.usage], true),
        new x509.SubjectAlternativeNameExtension([leaf.name]),
      ],
    });
    return { certificatePem: certificate.toString("pem"), serial, expiresAt };
  }
}

/** Parses a PEM certificate request and checks its self-signature (proof the sender holds the key). */
export async function readCertificateRequest(csrPem: string): Promise<CertificateRequest> {
  if (csrPem.length > 16_384 || !csrPem.includes("-----BEGIN CERTIFICATE REQUEST-----")) {
    throw new CertificateRequestError("csr_pem must be a PEM certificate request");
  }
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    throw new CertificateRequestError("csr_pem is not a readable certificate request");
  }
  let valid = false;
  try {
    valid = await request.verify();
  } catch {
    valid = false;
  }
  if (!valid) throw new CertificateRequestError("the certificate request's signature does not verify");
  const algorithm = request.publicKey.algorithm as webcrypto.EcKeyAlgorithm;
  if (algorithm.name !== "ECDSA" || algorithm.namedCurve !== "P-256") {
    throw new CertificateRequestError("the certificate request must be for an ECDSA P-256 key");
  }
  return {
    publicKey: request.publicKey,
    keySha256: createHash("sha256").update(Buffer.from(request.publicKey.rawData)).digest(),
  };
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""), "base64");
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
