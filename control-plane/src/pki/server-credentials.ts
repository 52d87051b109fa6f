// TLS for the gRPC agent channel. The server asks every client for a certificate but admits
// calls without one, because Register (spending a join token) comes before the agent has one;
// every other RPC refuses a caller whose certificate the CA did not verify (agents/peer-identity.ts).
// The server's own certificate is re-issued well before it expires, without a restart.
import { experimental, type ServerCredentials } from "@grpc/grpc-js";
import type { CertificateAuthority } from "./certificate-authority.js";

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

const CHECK_EVERY_MS = 60 * 60 * 1000;

/** Hands grpc-js the CA and the server's current key and certificate, and tells it when they change. */
class ControlPlaneCertificates implements experimental.CertificateProvider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private identity: experimental.IdentityCertificateUpdate | null = null;

  constructor(private readonly ca: experimental.CaCertificateUpdate) {}

  setIdentity(identity: experimental.IdentityCertificateUpdate): void {
    this.identity = identity;
    for (const listener of this.identityListeners) listener(identity);
  }

  // grpc-js registers its own watcher only after adding these listeners: answering synchronously
  // would reach nobody and leave the server refusing every connection.
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    process.nextTick(() => listener(this.ca));
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    const identity = this.identity;
    if (identity) process.nextTick(() => listener(identity));
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
}

export async function agentChannelCredentials(
  ca: CertificateAuthority,
  onRenewFailed: (error: unknown) => void,
): Promise<{ credentials: ServerCredentials; stop: () => void }> {
  const certificates = new ControlPlaneCertificates({ caCertificate: Buffer.from(ca.certificatePem) });
  let renewAfter = 0;
  const renew = async () => {
    const issued = await ca.issueServerCertificate();
    certificates.setIdentity({
      certificate: Buffer.from(issued.certificateChainPem),
      privateKey: Buffer.from(issued.privateKeyPem),
    });
    renewAfter = issued.expiresAt.getTime() - (issued.expiresAt.getTime() - Date.now()) / 3;
  };
  await renew();
  const timer = setInterval(() => {
    if (Date.now() >= renewAfter) renew().catch(onRenewFailed);
  }, CHECK_EVERY_MS);
  timer.unref();
  // The same provider serves both roles; grpc-js's argument names for the two are easy to swap.
  const credentials = experimental.createCertificateProviderServerCredentials(certificates, certificates, false);
  return { credentials, stop: () => clearInterval(timer) };
}
