import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "control-plane/src/**/*.test.ts",
      "agent/src/**/*.test.ts",
      "test-support/**/*.test.ts",
      "e2e/**/*.test.ts",
      "web/scripts/**/*.test.ts",
    ],
    globalSetup: ["test-support/global-setup.ts"],
    // Real services, real builds: give them time, and never run two heavy files at once on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    pool: "forks",
  },
});
