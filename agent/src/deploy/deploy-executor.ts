// Starts one replica of a deployment (image by digest): pull → start beside the replica's current
// container → wait until its health check passes → report it running. The ingress then sends it
// traffic; the old container is taken out of the route, drained and removed by the container
// reconciler (container-reconciler.ts), so no work slot is held while it stops. If the new one
// never becomes healthy it is removed with its last output kept, and the old one keeps serving.
import type Docker from "dockerode";
import { WorkPhase, type DeploySpec } from "@slipway/proto";
import { isRunning, LABELS, pullImage, removeContainer, startReplica, tailLogs } from "../runtime/containers.js";
import { waitUntilHealthy } from "../runtime/health.js";
import { WorkFailure, type WorkContext, type WorkResult } from "../work.js";
import { whileImagesInUse } from "../runtime/podman.js";

export interface DeployExecutorOptions {
  docker: Docker;
  publishHost: string;
  agentId: string;
}

/** For a spec from a control plane that sends none: GET / within a minute. */
const DEFAULT_HEALTH_CHECK = {
  probe: { $case: "httpPath" as const, value: "/" },
  intervalMs: 500,
  timeoutMs: 2000,
  retries: 120,
  startPeriodMs: 0,
};

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
        [LABELS.agent]: options.agentId,
      },
    });
  });
  if (adopted) ctx.log.line(`==> Adopted the container ${id.slice(0, 12)} an earlier run started for this replica`);
  try {
    ctx.log.line(`==> Waiting for replica ${spec.replicaIndex} to become healthy`);
    await waitUntilHealthy(options.publishHost, hostPort, spec.healthCheck ?? DEFAULT_HEALTH_CHECK, {
      signal: ctx.signal,
      isDead: async () => !(await isRunning(docker, id).catch(() => false)),
    });
  } catch (error) {
    const logs = await tailLogs(docker, id);
    if (logs) ctx.log.line(`==> Its last output:\n${logs}`);
    await removeContainer(docker, id, 0).catch(() => {});
    throw new WorkFailure(`${(error as Error).message}${logs ? `; its last output:\n${logs}` : ""}`);
  }
  ctx.log.line(`==> Replica ${spec.replicaIndex} is healthy on ${options.publishHost}:${hostPort}`);
  return {
    outcome: "succeeded",
    result: { $case: "deploy", value: { containerId: id, host: options.publishHost, port: hostPort } },
  };
}
