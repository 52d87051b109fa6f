#!/usr/bin/env node
// slipway-control-plane [serve|migrate]
import { loadConfig, ConfigError } from "./config.js";
import { createDatabase } from "./db/database.js";
import { migrateToLatest } from "./db/migrate.js";
import { startControlPlane } from "./server.js";

async function main(command: string): Promise<void> {
  const config = loadConfig();
  if (command === "migrate") {
    const db = createDatabase(config.DATABASE_URL, { max: 1 });
    try {
      const applied = await migrateToLatest(db);
      console.log(applied.length ? `migrate: applied ${applied.join(", ")}` : "migrate: already up to date");
    } finally {
      await db.destroy();
    }
    return;
  }
  if (command !== "serve") throw new ConfigError(`usage: slipway-control-plane [serve|migrate] (got "${command}")`);
  const controlPlane = await startControlPlane(config);
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    controlPlane.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main(process.argv[2] ?? "serve").catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `control plane failed to start: ${String(error)}`);
  process.exit(1);
});
