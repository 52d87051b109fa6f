// The image lock between deploys (pull to create) and build clean-ups (image removal), with flock(1)
// for real on a lock file of the test's own.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { whileImagesInUse } from "./podman.js";

describe("whileImagesInUse", () => {
  let dir: string;
  let lockFile: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "slipway-image-lock-"));
    lockFile = join(dir, "images.lock");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Whether a removal (exclusive) could go ahead right now. */
  const removalCouldRun = () =>
    new Promise<boolean>((resolve) =>
      execFile("flock", ["--exclusive", "--nonblock", lockFile, "true"], (error) => resolve(!error)),
    );

  it("keeps image removals out while in use, lets builds share it, and lets go afterwards", async () => {
    const inside = await whileImagesInUse(async () => {
      // A build (shared) goes ahead beside it; a removal (exclusive) must wait.
      const build = await new Promise<boolean>((resolve) =>
        execFile("flock", ["--shared", "--nonblock", lockFile, "true"], (error) => resolve(!error)),
      );
      return { build, removal: await removalCouldRun() };
    }, lockFile);
    expect(inside).toEqual({ build: true, removal: false });
    expect(await removalCouldRun()).toBe(true);
  });

  it("lets go when what it guards fails", async () => {
    await expect(
      whileImagesInUse(async () => {
        throw new Error("pull failed");
      }, lockFile),
    ).rejects.toThrow("pull failed");
    expect(await removalCouldRun()).toBe(true);
  });
});
