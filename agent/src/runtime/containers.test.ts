// A replica's containers on a real podman: a deployment removes only those of older deployments.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_IMAGE } from "../../../test-support/registry.js";
import { removeContainersWithLabel } from "../../../test-support/containers.js";
import { LABELS, connect, pullImage, removeOlderReplicas } from "./containers.js";

describe("removeOlderReplicas", () => {
  const docker = connect(process.env.CONTAINER_SOCKET ?? "/run/podman/podman.sock");
  const service = `test-${randomBytes(4).toString("hex")}`;
  const replica = { [LABELS.service]: service, [LABELS.replica]: "0" };

  beforeAll(() => pullImage(docker, BASE_IMAGE, () => {}));
  afterAll(() => removeContainersWithLabel(`${LABELS.service}=${service}`));

  const containerOf = async (sequence: string | undefined) => {
    const labels = { ...replica, ...(sequence === undefined ? {} : { [LABELS.sequence]: sequence }) };
    const container = await docker.createContainer({ Image: BASE_IMAGE, Cmd: ["sleep", "600"], Labels: labels });
    return container.id;
  };
  const remaining = async () =>
    (await docker.listContainers({ all: true, filters: { label: [`${LABELS.service}=${service}`] } }))
      .map((c) => c.Labels[LABELS.sequence] ?? "none")
      .sort();

  it("removes the replica's containers of older deployments, and never those of this one or a newer one", async () => {
    const unnumbered = await containerOf(undefined);
    const older = await containerOf("1");
    await containerOf("2");
    await containerOf("3");
    // Another replica's older container is not this replica's to remove.
    await docker.createContainer({
      Image: BASE_IMAGE,
      Cmd: ["sleep", "600"],
      Labels: { [LABELS.service]: service, [LABELS.replica]: "1", [LABELS.sequence]: "1" },
    });

    // Deployment 2 finishes after deployment 3 already runs: only 1 and the unnumbered one go.
    const removed = await removeOlderReplicas(docker, replica, 2, 0);
    expect(removed.sort()).toEqual([unnumbered, older].sort());
    expect(await remaining()).toEqual(["1", "2", "3"]);
  });
});
