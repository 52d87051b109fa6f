// Keeps the agent's certificate fresh: after two thirds of its lifetime, a new key and certificate
// request go to the control plane (over mutual TLS with the current certificate); the new identity
// is saved whole, then used for every call that follows. A failed renewal is retried with backoff
// while the current certificate is still valid, which leaves a third of its lifetime to succeed.
import type { AgentChannel } from "./channel.js";
import { delay, fullJitterDelay } from "./backoff.js";
import { certificateRequest, expiresAt, generatePrivateKey, renewalDue } from "./certificates.js";
import { saveIdentity, type AgentIdentity } from "./identity-store.js";
import type { AgentLogger } from "../logger.js";

export async function keepCertificateFresh(
  initial: AgentIdentity,
  channel: AgentChannel,
  stateDir: string,
  log: AgentLogger,
  signal: AbortSignal,
): Promise<void> {
  let identity = initial;
  let failures = 0;
  while (!signal.aborted) {
    const wait =
      failures === 0
        ? renewalDue(identity.certificatePem).getTime() - Date.now()
        : fullJitterDelay(failures, 1_000, 60_000);
    if (
      wait > 0 &&
      !(await delay(wait, signal).then(
        () => true,
        () => false,
      ))
    )
      return;
    if (Date.now() >= expiresAt(identity.certificatePem).getTime()) {
      log.error("the agent's certificate has expired; create a new join token and join again", {
        expiredAt: expiresAt(identity.certificatePem).toISOString(),
      });
      return;
    }
    try {
      const privateKeyPem = await generatePrivateKey();
      const { certificatePem } = await channel.renewCertificate(await certificateRequest(privateKeyPem));
      identity = { ...identity, privateKeyPem, certificatePem };
      await saveIdentity(stateDir, identity);
      channel.useIdentity(identity);
      failures = 0;
      log.info("certificate renewed", { expiresAt: expiresAt(certificatePem).toISOString() });
    } catch (error) {
      failures += 1;
      if (!signal.aborted) log.warn("certificate renewal failed; retrying", { error: (error as Error).message });
    }
  }
}
