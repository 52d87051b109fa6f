#!/usr/bin/env node
// slipway-control-plane [serve|migrate|rotate-secrets|create-owner]
import { loadConfig, ConfigError } from "./config.js";
import { createDatabase } from "./db/database.js";
import { migrateToLatest } from "./db/migrate.js";
import { startControlPlane } from "./server.js";
import { secretBoxOf } from "./crypto/secret-box.js";
import { RotationError, rotateSecrets } from "./crypto/rotate-secrets.js";
import { CommandError, createOwnerCommand } from "./auth/create-owner.js";

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
  if (command === "rotate-secrets") {
    // Counts only: never a value.
    const db = createDatabase(config.DATABASE_URL, { max: 1 });
    try {
      const counts = await rotateSecrets(db, secretBoxOf(config));
      const resealed = counts.reduce((sum, c) => sum + c.resealed, 0);
      const current = counts.reduce((sum, c) => sum + c.current, 0);
      for (const c of counts)
        console.log(`rotate-secrets: ${c.column}: ${c.resealed} re-sealed, ${c.current} already current`);
      console.log(
        `rotate-secrets: re-sealed ${resealed} values under SLIPWAY_SECRET_KEY (${current} already were); ` +
          "SLIPWAY_SECRET_KEY_PREVIOUS is no longer needed",
      );
    } finally {
      await db.destroy();
    }
    return;
  }
  if (command === "create-owner") {
    // The password comes on stdin, never in argv.
    const db = createDatabase(config.DATABASE_URL, { max: 1 });
    try {
      console.log(await createOwnerCommand(db, process.argv.slice(3), process.stdin));
    } finally {
      await db.destroy();
    }
    return;
  }
  if (command !== "serve")
    throw new ConfigError(
      `usage: slipway-control-plane [serve|migrate|rotate-secrets|create-owner] (got "${command}")`,
    );
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
  console.error(
    error instanceof ConfigError || error instanceof RotationError || error instanceof CommandError
      ? error.message
      : `control plane failed to start: ${String(error)}`,
  );
  process.exit(1);
});
