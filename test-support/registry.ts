// The local OCI registry that stands in for registry.internal, and a base image built on the spot
// (no public registry is reachable here): Debian's static busybox in an image of its own.
import { execFile } from "node:child_process";
import { mkdtemp, copyFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const REGISTRY_HOST = process.env.TEST_REGISTRY_HOST ?? "127.0.0.1:5000";
export const BASE_IMAGE = `${REGISTRY_HOST}/slipway-test/busybox:latest`;

/** Builds the busybox base image and pushes it to the local registry, once per run. */
export async function ensureBaseImage(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "slipway-base-"));
  try {
    await copyFile("/bin/busybox", join(dir, "busybox"));
    await writeFile(
      join(dir, "Containerfile"),
      [
        "FROM scratch",
        "COPY busybox /bin/busybox",
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
        'CMD ["/bin/sh"]',
        "",
      ].join("\n"),
    );
    await run("podman", ["build", "--quiet", "--tag", BASE_IMAGE, dir], { maxBuffer: 16 * 1024 * 1024 });
    await run("podman", ["push", "--quiet", BASE_IMAGE]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The tags the registry lists for a repository, through the OCI distribution API. */
export async function registryTags(repository: string): Promise<string[]> {
  const response = await fetch(`http://${REGISTRY_HOST}/v2/${repository}/tags/list`);
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`registry answered ${response.status} for ${repository}`);
  const body = (await response.json()) as { tags?: string[] | null };
  return body.tags ?? [];
}

/** The digest of a manifest, as the registry reports it. */
export async function manifestDigest(repository: string, reference: string): Promise<string | null> {
  const response = await fetch(`http://${REGISTRY_HOST}/v2/${repository}/manifests/${reference}`, {
    method: "HEAD",
    headers: {
      accept: [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
      ].join(", "),
    },
  });
  return response.ok ? response.headers.get("docker-content-digest") : null;
}
