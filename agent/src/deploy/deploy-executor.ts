// Rolls one replica of a service to a new image (by digest): pull → start beside the old one → wait
// until it answers → remove the replica's containers of older deployments (never a newer one's). If
// the new one never answers, the old one keeps serving and the deploy fails.
import type Docker from "dockerode";
import { WorkPhase, type DeploySpec } from "@slipway/proto";
import { isRunning, LABELS, pullImage, removeOlderReplicas, startReplica, tailLogs } from "../runtime/containers.js";
import { waitUntilAnswering } from "../runtime/health.js";
import { WorkFailure, type WorkContext, type WorkResult } from "../work.js";
import { whileImagesInUse } from "../runtime/podman.js";

export interface DeployExecutorOptions {
  docker: Docker;
  publishHost: string;
  healthTimeoutMs: number;
  stopGraceSeconds: number;
}

export async function executeDeploy(
  ctx: WorkContext,
  spec: DeploySpec,
  options: DeployExecutorOptions,
): Promise<WorkResult> {
  const { docker } = options;
  const replicaLabels = { [LABELS.service]: spec.serviceId, [LABELS.replica]: String(spec.replicaIndex) };
  // From pull to create, no build clean-up on this host may remove the image (see whileImagesInUse).
  const { id, hostPort, adopted } = await whileImagesInUse(async () => {
    await ctx.reportPhase(WorkPhase.WORK_PHASE_PULLING);
    ctx.log.line(`==> Pulling ${spec.imageRef}`);
    await pullImage(docker, spec.imageRef, (line) => ctx.log.line(line)).catch((error: Error) => {
      throw new WorkFailure(`could not pull ${spec.imageRef}: ${error.message}`);
    });
    await ctx.reportPhase(WorkPhase.WORK_PHASE_STARTING);
    return startReplica(docker, {
      name: `slipway-${spec.serviceId.slice(0, 8)}-${spec.replicaIndex}-${spec.deploymentId.slice(0, 8)}`,
      imageRef: spec.imageRef,
      containerPort: spec.containerPort,
      publishHost: options.publishHost,
      env: spec.env,
      labels: {
        ...replicaLabels,
        [LABELS.managed]: "true",
        [LABELS.project]: spec.projectId,
        [LABELS.deployment]: spec.deploymentId,
        [LABELS.sequence]: String(spec.deploymentSequence),
      },
    });
  });
  if (adopted) ctx.log.line(`==> Adopted the container ${id.slice(0, 12)} an earlier run started for this replica`);
  try {
    await waitUntilAnswering(options.publishHost, hostPort, {
      timeoutMs: options.healthTimeoutMs,
      signal: ctx.signal,
      isDead: async () => !(await isRunning(docker, id)),
    });
  } catch (error) {
    const logs = await tailLogs(docker, id);
    await docker
      .getContainer(id)
      .remove({ force: true })
      .catch(() => {});
    throw new WorkFailure(`${(error as Error).message}${logs ? `; its last output:\n${logs}` : ""}`);
  }
  const removed = await removeOlderReplicas(docker, replicaLabels, spec.deploymentSequence, options.stopGraceSeconds);
  if (removed.length > 0)
    ctx.log.line(`==> Removed ${removed.length} older container(s) of replica ${spec.replicaIndex}`);
  return {
    outcome: "succeeded",
    result: { $case: "deploy", value: { containerId: id, host: options.publishHost, port: hostPort } },
  };
}
