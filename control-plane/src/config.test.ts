import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

const valid = {
  DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db",
  REDIS_URL: "redis://127.0.0.1:6379",
  GITHUB_WEBHOOK_SECRET: "0123456789abcdef0123",
  SLIPWAY_BOOTSTRAP_TOKEN: "b".repeat(40),
  SLIPWAY_SECRET_KEY: Buffer.alloc(32, 1).toString("base64"),
};

describe("control plane configuration", () => {
  it("accepts a complete environment and fills in defaults", () => {
    expect(loadConfig(valid)).toMatchObject({ REGISTRY_HOST: "registry.internal", HTTP_PORT: 8080, GRPC_PORT: 8081 });
  });

  it("reads previous secret keys as a comma-separated list, empty by default", () => {
    expect(loadConfig(valid).SLIPWAY_SECRET_KEY_PREVIOUS).toEqual([]);
    const keys = [Buffer.alloc(32, 2).toString("base64"), Buffer.alloc(32, 3).toString("base64")];
    expect(
      loadConfig({ ...valid, SLIPWAY_SECRET_KEY_PREVIOUS: ` ${keys[0]}, ${keys[1]},` }).SLIPWAY_SECRET_KEY_PREVIOUS,
    ).toEqual(keys);
  });

  it.each([
    ["DATABASE_URL", undefined, "config: DATABASE_URL is required but not set"],
    ["DATABASE_URL", "mysql://x", "config: DATABASE_URL must be a postgres:// URL"],
    ["GITHUB_WEBHOOK_SECRET", "short-secret", "config: GITHUB_WEBHOOK_SECRET must be at least 16 characters"],
    ["HTTP_PORT", "99999", "config: HTTP_PORT"],
    [
      "GITHUB_APP_PRIVATE_KEY",
      Buffer.from("not a key").toString("base64"),
      "config: GITHUB_APP_PRIVATE_KEY must be a base64-encoded PEM private key",
    ],
    ["REGISTRY_HOST", "https://registry", "config: REGISTRY_HOST must be a host name with an optional :port"],
    ["SLIPWAY_SECRET_KEY", undefined, "config: SLIPWAY_SECRET_KEY is required but not set"],
    ["SLIPWAY_SECRET_KEY", "c2hvcnQ=", "config: SLIPWAY_SECRET_KEY must be 32 bytes, base64-encoded"],
    [
      "SLIPWAY_SECRET_KEY_PREVIOUS",
      `${Buffer.alloc(32, 2).toString("base64")},c2hvcnQ=`,
      "config: SLIPWAY_SECRET_KEY_PREVIOUS must hold 32-byte keys, base64-encoded",
    ],
    [
      "SLIPWAY_SECRET_KEY_PREVIOUS",
      Array.from({ length: 9 }, (_, i) => Buffer.alloc(32, i + 10).toString("base64")).join(","),
      "config: SLIPWAY_SECRET_KEY_PREVIOUS may hold at most 8 keys",
    ],
  ])("stops on %s=%s with one line naming it, never its value", (name, value, message) => {
    const env = { ...valid, [name]: value };
    if (value === undefined) delete (env as Record<string, unknown>)[name];
    expect(() => loadConfig(env)).toThrow(message);
    try {
      loadConfig(env);
    } catch (error) {
      expect((error as Error).message.split("\n")).toHaveLength(1);
      if (value) expect((error as Error).message).not.toContain(value);
    }
  });
});
