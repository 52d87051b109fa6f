// The API's OpenAPI description without a running control plane: builds the app on inert
// dependencies (a database pool and a Redis client that never connect) and asks fastify-swagger.
// The dashboard's types are generated from it (web/scripts/generate-api-types.mjs).
import { Redis } from "ioredis";
import { loadConfig } from "../config.js";
import { createDatabase } from "../db/database.js";
import { secretBoxOf } from "../crypto/secret-box.js";
import { GitHubAppStore } from "../github/app-credentials.js";
import { GitHubApi } from "../github/github-api.js";
import { Metrics } from "../metrics/metrics.js";
import { BUILD_TABLE } from "../builds/build-work.js";
import { DEPLOY_TABLE } from "../deployments/deploy-work.js";
import { buildApp } from "./app.js";

export async function openApiDocument(): Promise<Record<string, unknown>> {
  const config = loadConfig({
    DATABASE_URL: "postgres://unused@127.0.0.1:1/unused",
    REDIS_URL: "redis://127.0.0.1:1",
    LOG_LEVEL: "silent",
    SLIPWAY_BOOTSTRAP_TOKEN: "x".repeat(32),
    SLIPWAY_SECRET_KEY: Buffer.alloc(32).toString("base64"),
  });
  const db = createDatabase(config.DATABASE_URL);
  const redis = new Redis(config.REDIS_URL, { lazyConnect: true });
  const store = new GitHubAppStore(db, config);
  const app = await buildApp({
    config,
    db,
    redis,
    metrics: new Metrics(db, [BUILD_TABLE, DEPLOY_TABLE], () => 0),
    secretBox: secretBoxOf(config),
    github: { store, api: new GitHubApi(store, config) },
  });
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
    redis.disconnect();
    await db.destroy();
  }
}
