// The agent's side of its certificate: a key generated here that never leaves the host, the
// certificate request the control plane's CA signs, and when to ask for the next certificate.
import { createHash, createPrivateKey, createPublicKey, webcrypto, X509Certificate } from "node:crypto";
import { connect, type PeerCertificate } from "node:tls";
import { CONTROL_PLANE_TLS_NAME } from "@slipway/proto";
import { KEY_ALGORITHM, x509 } from "@slipway/proto/x509";

export async function generatePrivateKey(): Promise<string> {
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  return createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }).export({
    format: "pem",
    type: "pkcs8",
  }) as string;
}

/** A PKCS#10 request for the key, signed with it (which proves to the CA that we hold it). */
export async function certificateRequest(privateKeyPem: string): Promise<string> {
  const privateKey = createPrivateKey(privateKeyPem);
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const pkcs8 = privateKey.export({ format: "der", type: "pkcs8" });
  const keys = {
    privateKey: await webcrypto.subtle.importKey("pkcs8", pkcs8, KEY_ALGORITHM, false, ["sign"]),
    publicKey: await webcrypto.subtle.importKey("spki", spki, KEY_ALGORITHM, true, ["verify"]),
  };
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: "CN=slipway-agent",
    keys,
    signingAlgorithm: KEY_ALGORITHM,
  });
  return request.toString("pem");
}

/** When to renew: after two thirds of the certificate's lifetime. */
export function renewalDue(certificatePem: string): Date {
  const certificate = new X509Certificate(certificatePem);
  const from = Date.parse(certificate.validFrom);
  const to = Date.parse(certificate.validTo);
  return new Date(to - (to - from) / 3);
}

export function expiresAt(certificatePem: string): Date {
  return new Date(Date.parse(new X509Certificate(certificatePem).validTo));
}

/** The digest a join token pins the CA by: sha256 of its DER, base64url. */
export function pinOf(certificatePem: string): string {
  return createHash("sha256").update(new X509Certificate(certificatePem).raw).digest("base64url");
}

export class PinMismatchError extends Error {
  override name = "PinMismatchError";
}

/**
 * Learns the control plane's CA before trusting anything: connects without verification, takes
 * the chain the server presents, and keeps the certificate whose digest is the join token's pin.
 * Anyone else on the way cannot produce that certificate, so the pin is the whole of the trust.
 */
export async function fetchPinnedCa(server: string, pin: string, timeoutMs = 10_000): Promise<string> {
  const { host, port } = splitHostPort(server);
  const chain = await new Promise<PeerCertificate[]>((resolve, reject) => {
    const socket = connect({
      host,
      port,
      servername: CONTROL_PLANE_TLS_NAME,
      ALPNProtocols: ["h2"],
      rejectUnauthorized: false, // nothing is trusted yet: the pin below decides
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no TLS answer from ${server} in ${timeoutMs} ms`)));
    socket.once("error", reject);
    socket.once("secureConnect", () => {
      const certificates: PeerCertificate[] = [];
      let next: PeerCertificate | undefined = socket.getPeerCertificate(true);
      while (next?.raw && !certificates.some((c) => c.raw.equals(next!.raw))) {
        certificates.push(next);
        next = (next as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate;
      }
      socket.end();
      resolve(certificates);
    });
  });
  const ca = chain.find((certificate) => createHash("sha256").update(certificate.raw).digest("base64url") === pin);
  if (!ca) {
    throw new PinMismatchError(
      `the server at ${server} did not present the certificate authority named in the join token; ` +
        "check SLIPWAY_SERVER, or create a new join token",
    );
  }
  return new X509Certificate(ca.raw).toString();
}

function splitHostPort(server: string): { host: string; port: number } {
  const at = server.lastIndexOf(":");
  return { host: server.slice(0, at).replace(/^\[|\]$/g, ""), port: Number(server.slice(at + 1)) };
}
