import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

describe("agent configuration", () => {
  it("names each missing or malformed variable on its own line, without echoing values", () => {
    expect(() => loadConfig({})).toThrow("config: SLIPWAY_SERVER is required but not set");
    expect(() => loadConfig({ SLIPWAY_SERVER: "127.0.0.1:9000", PUBLISH_HOST: "my-secret-host" })).toThrow(
      /^config: PUBLISH_HOST .*$/,
    );
    try {
      loadConfig({ SLIPWAY_SERVER: "nope", SLIPWAY_BUILD_SLOTS: "lots" });
    } catch (error) {
      const lines = (error as Error).message.split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^config: SLIPWAY_SERVER /);
      expect(lines[1]).toMatch(/^config: SLIPWAY_BUILD_SLOTS /);
      expect((error as Error).message).not.toContain("lots");
    }
  });

  it("fills in defaults for the all-in-one stack", () => {
    expect(loadConfig({ SLIPWAY_SERVER: "127.0.0.1:8081" })).toMatchObject({
      CONTAINER_SOCKET: "/run/podman/podman.sock",
      SLIPWAY_WORK_KINDS: ["build", "deploy"],
      SLIPWAY_BUILD_SLOTS: 2,
      SLIPWAY_DEPLOY_SLOTS: 4,
      INVENTORY_SECONDS: 5,
    });
  });
});
