// Image builds and pushes through the podman CLI.
import { spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { runProcess, type RunOptions } from "./process.js";

type Opts = Pick<RunOptions, "signal" | "onOutput" | "killGraceMs" | "registry">;

/**
 * Builds and image removals on one host exclude each other. A build's layer-cache lookup reads the
 * images built on the same base; when another build's clean-up removes one of them at that moment,
 * the build fails with "image not known" (podman exits 125; seen with two agents building at once).
 * Builds take this lock shared, removals exclusive (flock(1), so agents on one host share it).
 */
const IMAGE_LOCK = "/run/lock/slipway-images.lock";

/**
 * Builds under `localTag`, a name unique to this build attempt, so two builds of the same commit on
 * one host never remove or push each other's image.
 */
export async function buildImage(
  contextDir: string,
  containerfile: string,
  localTag: string,
  cgroupParent: string,
  options: Opts,
): Promise<void> {
  const args = ["build", "--layers", "--cgroup-parent", cgroupParent, "--file", containerfile, "--tag", localTag];
  await runProcess("flock", ["--shared", IMAGE_LOCK, "podman", ...args, contextDir], {
    ...options,
    label: "podman build",
  });
}

/** Pushes the local image to `imageRef` and returns the digest the registry stored it under. */
export async function pushImage(localTag: string, imageRef: string, workDir: string, options: Opts): Promise<string> {
  const digestFile = join(workDir, "pushed.digest");
  await runProcess("podman", ["push", "--digestfile", digestFile, localTag, `docker://${imageRef}`], {
    ...options,
    label: "podman push",
  });
  const digest = (await readFile(digestFile, "utf8")).trim();
  await rm(digestFile, { force: true });
  return digest;
}

/**
 * Removes the local copy of an image; the registry holds it now. It waits until no build on this
 * host is running (see IMAGE_LOCK). Failure is not an error.
 */
export async function removeImage(localTag: string): Promise<void> {
  await runProcess("flock", ["--exclusive", IMAGE_LOCK, "podman", "rmi", "--ignore", localTag], {
    label: "podman rmi",
  }).catch(() => {});
}

/**
 * Runs `use` holding IMAGE_LOCK shared, as a build does. A deploy needs it from pull to create: an
 * image pulled by name is looked up by id when the container is created, and a build's clean-up
 * removing its own tag from that same image (same content, e.g. the same commit built twice) would
 * otherwise delete it in between ("parsing named reference <id>"). Once a container uses an image,
 * podman refuses to remove it. The lock is held by a flock(1) child that lets go when its stdin
 * closes, so it is released even if the agent dies.
 */
export async function whileImagesInUse<T>(use: () => Promise<T>, lockFile = IMAGE_LOCK): Promise<T> {
  const holder = spawn("flock", ["--shared", lockFile, "sh", "-c", "echo held && exec cat"], {
    stdio: ["pipe", "pipe", "ignore"],
  });
  holder.stdin.on("error", () => {}); // it may be gone already; closing is all we ever do to it
  const exited = new Promise<number | null>((resolve) => holder.once("close", resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once("data", () => resolve());
      holder.once("error", reject);
      void exited.then((code) => reject(new Error(`could not take the image lock (flock exited with ${code})`)));
    });
    return await use();
  } finally {
    holder.stdin.end();
    await exited; // released once flock has exited
  }
}

let systemdManaged: Promise<boolean> | undefined;

/** Whether podman manages cgroups through systemd (then a cgroup parent must be a slice). */
export function podmanUsesSystemdCgroups(): Promise<boolean> {
  systemdManaged ??= new Promise((resolve) => {
    let output = "";
    runProcess("podman", ["info", "--format", "{{.Host.CgroupManager}}"], {
      onOutput: (text) => (output += text),
    }).then(
      () => resolve(output.trim() === "systemd"),
      () => resolve(false),
    );
  });
  return systemdManaged;
}
