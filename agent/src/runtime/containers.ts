// Running containers through the Docker-compatible API (podman's `system service`, or Docker).
import Docker from "dockerode";

export const LABELS = {
  managed: "slipway.managed",
  project: "slipway.project",
  service: "slipway.service",
  deployment: "slipway.deployment",
  /** The deployment's place among the service's deployments: what "older" means. */
  sequence: "slipway.deployment-sequence",
  replica: "slipway.replica",
  /** The agent that started it: several agents may share one host (and its podman), and each
   * reconciles only its own containers. */
  agent: "slipway.agent",
} as const;

export function connect(socketPath: string): Docker {
  return new Docker({ socketPath });
}

/** Pulls an image, following the progress stream to its end; rejects on a pull error. */
export async function pullImage(docker: Docker, imageRef: string, onProgress: (line: string) => void): Promise<void> {
  const stream = await docker.pull(imageRef);
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (error) => (error ? reject(error) : resolve()),
      (event: { status?: string; error?: string }) => {
        if (event.error) onProgress(event.error);
        else if (event.status) onProgress(event.status);
      },
    ),
  );
}

export interface ReplicaSpec {
  name: string;
  imageRef: string;
  containerPort: number;
  publishHost: string;
  env: Record<string, string>;
  labels: Record<string, string>;
}

const publishedPort = (info: Docker.ContainerInspectInfo, portKey: string): number | undefined => {
  const hostPort = Number(info.NetworkSettings.Ports?.[portKey]?.[0]?.HostPort);
  return Number.isInteger(hostPort) && hostPort > 0 ? hostPort : undefined;
};

/**
 * Creates and starts a replica with its port published on a free host port; returns id and port.
 * A running container of that name carrying every one of the replica's labels (its deployment's
 * among them) was started for this very replica by a run of the agent that died before reporting
 * it: it is adopted rather than started twice (`adopted`). Any other container of that name is
 * replaced.
 */
export async function startReplica(
  docker: Docker,
  spec: ReplicaSpec,
): Promise<{ id: string; hostPort: number; adopted: boolean }> {
  const portKey = `${spec.containerPort}/tcp`;
  const existing = await docker
    .getContainer(spec.name)
    .inspect()
    .catch(() => undefined);
  if (existing) {
    const hostPort = publishedPort(existing, portKey);
    const ours = Object.entries(spec.labels).every(([key, value]) => existing.Config.Labels?.[key] === value);
    if (ours && existing.State.Running && hostPort !== undefined) return { id: existing.Id, hostPort, adopted: true };
    await docker.getContainer(existing.Id).remove({ force: true });
  }
  const container = await docker.createContainer({
    name: spec.name,
    Image: spec.imageRef,
    // Passed at create time through the API, so values never appear in a command line or log.
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: spec.labels,
    ExposedPorts: { [portKey]: {} },
    HostConfig: {
      PortBindings: { [portKey]: [{ HostIp: spec.publishHost, HostPort: "" }] },
      RestartPolicy: { Name: "unless-stopped" },
      // An init as PID 1 (catatonit) passes SIGTERM on to the app, so a stop rarely waits out its grace.
      Init: true,
    },
  });
  try {
    await container.start();
    const info = await container.inspect();
    const hostPort = publishedPort(info, portKey);
    if (hostPort === undefined) throw new Error(`no host port was published for ${portKey}`);
    return { id: info.Id, hostPort, adopted: false };
  } catch (error) {
    await container.remove({ force: true }).catch(() => {});
    throw error;
  }
}

/** The last lines a container printed, for a failure message. */
export async function tailLogs(docker: Docker, id: string, lines = 20): Promise<string> {
  try {
    const output = await docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines, follow: false });
    // Without a TTY the stream is multiplexed: 8-byte frame headers before each payload.
    const buffer = Buffer.isBuffer(output) ? output : Buffer.from(String(output));
    const parts: string[] = [];
    let offset = 0;
    while (offset + 8 <= buffer.length) {
      const size = buffer.readUInt32BE(offset + 4);
      parts.push(buffer.subarray(offset + 8, offset + 8 + size).toString("utf8"));
      offset += 8 + size;
    }
    return parts.join("") || buffer.toString("utf8");
  } catch {
    return "";
  }
}

export async function isRunning(docker: Docker, id: string): Promise<boolean> {
  const info = await docker.getContainer(id).inspect();
  return info.State.Running === true;
}

/** A container Slipway started for a replica, as its labels describe it. */
export interface ManagedContainer {
  id: string;
  serviceId: string;
  deploymentId: string;
  replicaIndex: number;
  /** 0 for containers from before deployments were numbered. */
  sequence: number;
  running: boolean;
}

/** Every container this agent started on this host for a replica; nothing else is ever listed. */
export async function listManagedContainers(docker: Docker, agentId: string): Promise<ManagedContainer[]> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${LABELS.managed}=true`, `${LABELS.agent}=${agentId}`] },
  });
  return containers.flatMap((c) => {
    const labels = c.Labels ?? {};
    const serviceId = labels[LABELS.service];
    const deploymentId = labels[LABELS.deployment];
    const replicaIndex = Number(labels[LABELS.replica]);
    if (!serviceId || !deploymentId || !Number.isInteger(replicaIndex)) return [];
    return [
      {
        id: c.Id,
        serviceId,
        deploymentId,
        replicaIndex,
        sequence: Number(labels[LABELS.sequence] ?? 0) || 0,
        running: c.State === "running",
      },
    ];
  });
}

/** Stops a container (SIGTERM to its init, SIGKILL after `stopSeconds`) and removes it. */
export async function removeContainer(docker: Docker, id: string, stopSeconds: number): Promise<void> {
  const container = docker.getContainer(id);
  await container.stop({ t: stopSeconds }).catch(() => {}); // already stopped, or gone
  await container.remove({ force: true }).catch((error: { statusCode?: number }) => {
    if (error.statusCode !== 404) throw error;
  });
}
