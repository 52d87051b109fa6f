// `slipway-agent` on first start: spends the join token on a certificate. The join token
// (`sjt_<secret>.<pin>`) carries the digest of the control plane's CA, so the agent checks whom it
// talks to before sending the token. The key is generated here, kept 0600, and never sent; it is
// saved before Register so a retry after a lost reply presents the same key, which the control
// plane accepts again within the token's lifetime.
import type { AgentIdentity } from "./identity-store.js";
import { forgetJoinKey, loadJoinKey, saveIdentity, saveJoinKey } from "./identity-store.js";
import { certificateRequest, fetchPinnedCa, generatePrivateKey, pinOf, PinMismatchError } from "./certificates.js";
import { register } from "./channel.js";

export class JoinTokenError extends Error {
  override name = "JoinTokenError";
}

const JOIN_TOKEN = /^(sjt_[A-Za-z0-9_-]{20,})\.([A-Za-z0-9_-]{43})$/;

/** The CA pin inside a join token; throws JoinTokenError for anything that is not one. */
export function parseJoinToken(joinToken: string): { pin: string } {
  const match = JOIN_TOKEN.exec(joinToken.trim());
  if (!match) throw new JoinTokenError("SLIPWAY_JOIN_TOKEN is not a join token (expected sjt_….…)");
  return { pin: match[2] as string };
}

export async function join(options: {
  server: string;
  joinToken: string;
  stateDir: string;
  hostname: string;
  agentVersion: string;
}): Promise<AgentIdentity> {
  const { pin } = parseJoinToken(options.joinToken);
  const caCertificatePem = await fetchPinnedCa(options.server, pin);
  let privateKeyPem = await loadJoinKey(options.stateDir);
  if (!privateKeyPem) {
    privateKeyPem = await generatePrivateKey();
    await saveJoinKey(options.stateDir, privateKeyPem);
  }
  const response = await register(options.server, caCertificatePem, {
    joinToken: options.joinToken.trim(),
    hostname: options.hostname,
    agentVersion: options.agentVersion,
    csrPem: await certificateRequest(privateKeyPem),
  });
  if (pinOf(response.caCertificatePem) !== pin) {
    throw new PinMismatchError("the control plane answered with a CA other than the one in the join token");
  }
  const identity: AgentIdentity = {
    agentId: response.agentId,
    server: options.server,
    caCertificatePem: response.caCertificatePem,
    privateKeyPem,
    certificatePem: response.certificatePem,
  };
  await saveIdentity(options.stateDir, identity);
  await forgetJoinKey(options.stateDir);
  return identity;
}
