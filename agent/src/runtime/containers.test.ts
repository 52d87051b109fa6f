// A host's Slipway containers on a real podman: the inventory the agent reports lists only the
// containers Slipway started for replicas, so nothing else on the host can ever be removed.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_IMAGE } from "../../../test-support/registry.js";
import { removeContainersWithLabel } from "../../../test-support/containers.js";
import { LABELS, connect, listManagedContainers, pullImage, removeContainer } from "./containers.js";

describe("the host's Slipway containers", () => {
  const docker = connect(process.env.CONTAINER_SOCKET ?? "/run/podman/podman.sock");
  const marker = `test-${randomBytes(4).toString("hex")}`;
  const service = randomUUID();

  beforeAll(() => pullImage(docker, BASE_IMAGE, () => {}));
  afterAll(() => removeContainersWithLabel(`test.marker=${marker}`));

  const create = (labels: Record<string, string>) =>
    docker
      .createContainer({ Image: BASE_IMAGE, Cmd: ["sleep", "600"], Labels: { "test.marker": marker, ...labels } })
      .then((c) => c.id);

  it("lists each replica's container this agent started, and nothing Slipway or this agent did not start", async () => {
    const deployment = randomUUID();
    const agent = randomUUID();
    const replicaLabels = {
      [LABELS.managed]: "true",
      [LABELS.service]: service,
      [LABELS.deployment]: deployment,
      [LABELS.replica]: "2",
      [LABELS.sequence]: "7",
    };
    const replica = await create({ ...replicaLabels, [LABELS.agent]: agent });
    // Someone else's container with a look-alike label, one with Slipway's mark but no replica, and
    // a replica another agent sharing this host started.
    const foreign = await create({ [LABELS.service]: service });
    const broken = await create({ [LABELS.managed]: "true", [LABELS.service]: service, [LABELS.agent]: agent });
    const otherAgents = await create({ ...replicaLabels, [LABELS.agent]: randomUUID() });

    const listed = (await listManagedContainers(docker, agent)).filter((c) => c.serviceId === service);
    expect(listed).toEqual([
      { id: replica, serviceId: service, deploymentId: deployment, replicaIndex: 2, sequence: 7, running: false },
    ]);
    expect(listed.map((c) => c.id)).not.toContain(foreign);
    expect(listed.map((c) => c.id)).not.toContain(broken);
    expect(listed.map((c) => c.id)).not.toContain(otherAgents);
  });

  it("removes a running container, and removing one already gone is not an error", async () => {
    const id = await create({});
    await docker.getContainer(id).start();
    await removeContainer(docker, id, 0);
    await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await removeContainer(docker, id, 0);
  });
});
