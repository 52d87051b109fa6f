// Which agent a call comes from: the agent id in its TLS connection's client certificate, which TLS
// has verified against the control plane's CA (a call without one, or with one the CA did not
// issue, has no peer certificate). Node builds the whole certificate object, three fingerprints
// included, at every getPeerCertificate(), and grpc-js calls it for every getAuthContext(): about
// 50 µs a call, two calls per claim (bench/README.md, "One core for leased work"). The answer is the
// same for every call on one connection (TLS 1.3 has no renegotiation, and a TLS 1.2 client that
// renegotiates must hold the new certificate's key as well), so it is kept per HTTP/2 session,
// reached through grpc-js's call objects (1.14); when they are not shaped as expected, every call
// reads the certificate again.
import { AGENT_CERTIFICATE_URI_PREFIX } from "@slipway/proto";

interface AuthenticatedCall {
  getAuthContext(): { sslPeerCertificate?: { subjectaltname?: string } } | null;
}

const agentBySession = new WeakMap<object, string | null>();

/** The agent id in a certificate's `URI:urn:slipway:agent:<id>` subject alternative name. */
function agentIdFromCertificate(subjectAltName: string | undefined): string | null {
  for (const name of subjectAltName?.split(", ") ?? []) {
    const uri = name.startsWith("URI:") ? name.slice("URI:".length) : "";
    if (uri.startsWith(AGENT_CERTIFICATE_URI_PREFIX)) return uri.slice(AGENT_CERTIFICATE_URI_PREFIX.length);
  }
  return null;
}

function sessionOf(call: AuthenticatedCall): object | undefined {
  const session = (call as { call?: { stream?: { session?: unknown } } }).call?.stream?.session;
  return typeof session === "object" && session !== null ? session : undefined;
}

/** The id of the agent whose certificate the call's connection presented; undefined without one. */
export function callerAgentId(call: AuthenticatedCall): string | undefined {
  const session = sessionOf(call);
  const known = session && agentBySession.get(session);
  if (known !== undefined) return known ?? undefined;
  const agentId = agentIdFromCertificate(call.getAuthContext()?.sslPeerCertificate?.subjectaltname);
  if (session) agentBySession.set(session, agentId);
  return agentId ?? undefined;
}
