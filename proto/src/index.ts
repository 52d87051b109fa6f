// The agent channel's generated types and service definition, plus the call metadata both sides use.
import { ProtocolVersion } from "./gen/slipway/agent/v1/agent.js";

export * from "./gen/slipway/agent/v1/agent.js";

/** The protocol version this build of Slipway speaks; a peer speaking another is refused. */
export const PROTOCOL_VERSION = ProtocolVersion.PROTOCOL_VERSION_V1;

/** Metadata keys carried by every call on the agent channel. */
export const METADATA = {
  protocol: "x-slipway-protocol",
} as const;

/**
 * The name in every control plane's TLS certificate, whatever address agents dial. Only the
 * control plane's own CA issues it, and agents trust that CA alone, so the name proves the peer.
 */
export const CONTROL_PLANE_TLS_NAME = "control-plane.slipway.internal";

/** How an agent's id is written in its certificate's subject alternative name. */
export const AGENT_CERTIFICATE_URI_PREFIX = "urn:slipway:agent:";
