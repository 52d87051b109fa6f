#!/usr/bin/env node
// slipway-agent [run]: enrols on first start (SLIPWAY_JOIN_TOKEN), then claims and runs work.
// slipway-agent join: only enrols (key, certificate request, certificate), then exits.
import { hostname } from "node:os";
import { ConfigError, loadConfig } from "./config.js";
import { loadIdentity } from "./channel/identity-store.js";
import { join } from "./channel/enrolment.js";
import { connect } from "./runtime/containers.js";
import { AgentRunner } from "./agent-runner.js";
import type { AgentLogger } from "./logger.js";

const AGENT_VERSION = "0.1.0";

const log: AgentLogger = {
  info: (msg, fields) => console.log(JSON.stringify({ level: "info", msg, ...fields })),
  warn: (msg, fields) => console.log(JSON.stringify({ level: "warn", msg, ...fields })),
  error: (msg, fields) => console.error(JSON.stringify({ level: "error", msg, ...fields })),
};

async function main(): Promise<void> {
  const command = process.argv[2] ?? "run";
  if (command !== "run" && command !== "join") {
    throw new ConfigError(`usage: slipway-agent [run|join] (unknown command "${command.slice(0, 20)}")`);
  }
  const config = loadConfig();
  let identity = await loadIdentity(config.SLIPWAY_STATE_DIR);
  if (!identity || identity.server !== config.SLIPWAY_SERVER) {
    if (!config.SLIPWAY_JOIN_TOKEN) {
      throw new ConfigError("config: SLIPWAY_JOIN_TOKEN is required until the agent has enrolled");
    }
    identity = await join({
      server: config.SLIPWAY_SERVER,
      joinToken: config.SLIPWAY_JOIN_TOKEN,
      stateDir: config.SLIPWAY_STATE_DIR,
      hostname: hostname(),
      agentVersion: AGENT_VERSION,
    });
    log.info("enrolled", { agentId: identity.agentId });
  }
  if (command === "join") return;
  const runner = new AgentRunner(identity, config, connect(config.CONTAINER_SOCKET), log);
  const shutdown = () => {
    runner.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  log.info("agent running", { agentId: identity.agentId, server: identity.server });
  await runner.run();
}

main().catch((error: unknown) => {
  console.error(
    error instanceof ConfigError ? error.message : `agent failed: ${(error as Error).message ?? String(error)}`,
  );
  process.exit(1);
});
