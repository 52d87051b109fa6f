// The control plane's HTTP app on a test database, with real Redis, for app.inject() tests.
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import type { Db } from "@slipway/control-plane";
import { loadConfig, type Config } from "../control-plane/src/config.js";
import { buildApp } from "../control-plane/src/http/app.js";
import { GitHubAppStore } from "../control-plane/src/github/app-credentials.js";
import { GitHubApi } from "../control-plane/src/github/github-api.js";
import { Metrics } from "../control-plane/src/metrics/metrics.js";
import { BUILD_TABLE } from "../control-plane/src/builds/build-work.js";
import { DEPLOY_TABLE } from "../control-plane/src/deployments/deploy-work.js";
import { secretBoxOf } from "../control-plane/src/crypto/secret-box.js";
import { CertificateAuthority } from "../control-plane/src/pki/certificate-authority.js";
import { TEST_SECRET_KEY } from "./processes.js";

export interface TestApp {
  app: FastifyInstance;
  metrics: Metrics;
  config: Config;
  close(): Promise<void>;
}

export async function buildTestApp(
  db: Db,
  env: Record<string, string>,
  options: { logStream?: { write(line: string): void } } = {},
): Promise<TestApp> {
  const config = loadConfig({
    DATABASE_URL: "postgres://unused@127.0.0.1/unused",
    REDIS_URL: "redis://127.0.0.1:6379",
    LOG_LEVEL: "silent",
    SLIPWAY_SECRET_KEY: TEST_SECRET_KEY,
    ...env,
  });
  // A running control plane creates its CA at start-up; join tokens carry its digest.
  const secretBox = secretBoxOf(config);
  await CertificateAuthority.loadOrCreate(db, secretBox);
  const redis = new Redis(config.REDIS_URL, { lazyConnect: true });
  const store = new GitHubAppStore(db, config);
  const metrics = new Metrics(db, [BUILD_TABLE, DEPLOY_TABLE], () => 0);
  const app = await buildApp({
    config,
    db,
    redis,
    metrics,
    secretBox,
    github: { store, api: new GitHubApi(store, config) },
    ...options,
  });
  return {
    app,
    metrics,
    config,
    async close() {
      await app.close();
      redis.disconnect();
    },
  };
}
