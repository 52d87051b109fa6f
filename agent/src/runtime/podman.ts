// Image builds and pushes through the podman CLI.
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { runProcess, type RunOptions } from "./process.js";

type Opts = Pick<RunOptions, "signal" | "onOutput" | "killGraceMs" | "registry">;

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
  await runProcess("podman", [...args, contextDir], {
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

/** Removes the local copy of an image; the registry holds it now. Failure is not an error. */
export async function removeImage(localTag: string): Promise<void> {
  await runProcess("podman", ["rmi", "--ignore", localTag], { label: "podman rmi" }).catch(() => {});
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
