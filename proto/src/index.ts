// The agent channel's generated types and service definition, plus the call metadata both sides use.
import { ProtocolVersion } from "./gen/slipway/agent/v1/agent.js";

export * from "./gen/slipway/agent/v1/agent.js";

/** The protocol version this build of Slipway speaks; a peer speaking another is refused. */
export const PROTOCOL_VERSION = ProtocolVersion.PROTOCOL_VERSION_V1;

/** Metadata keys carried by every authenticated call on the agent channel. */
export const METADATA = {
  agentId: "x-slipway-agent-id",
  protocol: "x-slipway-protocol",
  authorization: "authorization",
} as const;
