// Builds one commit into an image and pushes it: clone → build → push → clean up.
import { mkdir, mkdtemp, realpath, rm } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { WorkPhase, type BuildSpec } from "@slipway/proto";
import { checkoutCommit, credentialHeaderSecret } from "../runtime/git.js";
import { buildImage, podmanUsesSystemdCgroups, pushImage, removeImage } from "../runtime/podman.js";
import { buildCgroupParent, stopBuildCgroup } from "../runtime/build-cgroup.js";
import type { ProcessRegistry } from "../runtime/process-registry.js";
import { WorkFailure, type WorkContext, type WorkResult } from "../work.js";
import { findContainerfile } from "./containerfile.js";

export interface BuildExecutorOptions {
  workRoot: string;
  killGraceMs: number;
  processes: ProcessRegistry;
  agentId: string;
}

export async function executeBuild(
  ctx: WorkContext,
  spec: BuildSpec,
  options: BuildExecutorOptions,
): Promise<WorkResult> {
  await mkdir(options.workRoot, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(options.workRoot, "build-"));
  const localTag = `localhost/slipway-build/${ctx.ref.id}:attempt-${ctx.ref.attempt}`;
  const run = {
    registry: options.processes,
    signal: ctx.signal,
    killGraceMs: options.killGraceMs,
    onOutput: (text: string) => ctx.log.write(text),
  };
  try {
    await ctx.reportPhase(WorkPhase.WORK_PHASE_CLONING);
    const credentials = await ctx.gitCredentials();
    if (credentials) ctx.log.addSecret(credentialHeaderSecret(credentials));
    ctx.log.line(`==> Fetching ${spec.gitUrl} at ${spec.commitSha} (${spec.branch})`);
    await checkoutCommit(dir, spec.gitUrl, spec.commitSha, spec.branch, { ...run, credentials });

    const serviceDir = resolve(dir, spec.rootDir || ".");
    // The root directory comes from the service's settings: it must stay inside the checkout.
    const real = await realpath(serviceDir).catch(() => {
      throw new WorkFailure(`root directory ${spec.rootDir} does not exist at ${spec.commitSha.slice(0, 12)}`);
    });
    if (relative(await realpath(dir), real).startsWith("..")) {
      throw new WorkFailure(`root directory ${spec.rootDir} points outside the repository`);
    }
    const containerfile = await findContainerfile(real, spec.rootDir);

    await ctx.reportPhase(WorkPhase.WORK_PHASE_BUILDING);
    ctx.log.line(`==> Building ${spec.imageRef} from ${relative(dir, containerfile)}`);
    const cgroupParent = buildCgroupParent(
      options.agentId,
      ctx.ref.id,
      ctx.ref.attempt,
      await podmanUsesSystemdCgroups(),
    );
    await buildImage(real, containerfile, localTag, cgroupParent, run);

    await ctx.reportPhase(WorkPhase.WORK_PHASE_PUSHING);
    ctx.log.line(`==> Pushing ${spec.imageRef}`);
    const digest = await pushImage(localTag, spec.imageRef, dir, run);
    ctx.log.line(`==> Pushed ${spec.imageRef}@${digest}`);
    return {
      outcome: "succeeded",
      result: { $case: "build", value: { imageRef: spec.imageRef, imageDigest: digest } },
    };
  } finally {
    // Whatever a RUN step left running (it lives outside podman's process group) stops here.
    const stopped = await stopBuildCgroup(options.agentId, ctx.ref.id, ctx.ref.attempt, options.killGraceMs);
    if (stopped > 0) ctx.log.line(`==> Stopped ${stopped} process(es) the build left running`);
    // Before completing: a deploy of this image on this host must not race its removal. (It may wait
    // for other builds on the host to get past their layer-cache lookups; see podman.ts.)
    await removeImage(localTag);
    await rm(dir, { recursive: true, force: true });
  }
}
