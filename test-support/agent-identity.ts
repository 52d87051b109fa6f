// Enrols a test agent through the agent's own join code (pinned CA, key generated locally, CSR) and
// hands back its identity and a raw client that calls as it over mutual TLS, so tests can send any
// request an agent could, including wrong ones.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join as joinPath } from "node:path";
import type { AgentServiceClient } from "@slipway/proto";
import { join } from "../agent/src/channel/enrolment.js";
import { agentServiceClient } from "../agent/src/channel/channel.js";
import type { AgentIdentity } from "../agent/src/channel/identity-store.js";

export async function enrolTestAgent(
  grpcAddress: string,
  joinToken: string,
): Promise<{ identity: AgentIdentity; client: AgentServiceClient }> {
  const stateDir = await mkdtemp(joinPath(tmpdir(), "slipway-test-agent-"));
  try {
    const identity = await join({
      server: grpcAddress,
      joinToken,
      stateDir,
      hostname: "test-host",
      agentVersion: "test",
    });
    return { identity, client: agentServiceClient(grpcAddress, identity) };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}
