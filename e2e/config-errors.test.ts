// Both processes refuse to start on bad configuration, with one line per variable and no values.
import { describe, expect, it } from "vitest";
import { AGENT_MAIN, CONTROL_PLANE_MAIN, runToExit } from "../test-support/processes.js";

const runMain = (main: string, env: Record<string, string>) => runToExit(main, [], env);

describe("start-up configuration", () => {
  it("stops the control plane with one clear line per missing or malformed variable", async () => {
    const result = await runMain(CONTROL_PLANE_MAIN, {
      DATABASE_URL: "postgres://slipway:hunter2-password@127.0.0.1/x",
      REDIS_URL: "http://not-redis",
      GITHUB_WEBHOOK_SECRET: "tiny",
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toEqual([
      "config: REDIS_URL must be a redis:// URL",
      "config: GITHUB_WEBHOOK_SECRET must be at least 16 characters",
      "config: SLIPWAY_SECRET_KEY is required but not set",
      "config: SLIPWAY_BOOTSTRAP_TOKEN is required but not set",
    ]);
    expect(result.stderr).not.toContain("hunter2");
    expect(result.stderr).not.toContain("tiny");
  });

  it("stops the agent when it has neither an identity nor a join token", async () => {
    const result = await runMain(AGENT_MAIN, {
      SLIPWAY_SERVER: "127.0.0.1:1",
      SLIPWAY_STATE_DIR: "/nonexistent/slipway",
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe("config: SLIPWAY_JOIN_TOKEN is required until the agent has enrolled");
  });
});
