// A completed build of an auto-deploying service is deployed in the transaction that completes it,
// by the digest it pushed. Builds can finish out of order, or at the same moment: under the
// service's deployment lock, a service is never rolled back to an older push this way.
import type { Transaction } from "kysely";
import type { Build, Database } from "../db/schema.js";
import { imageByDigest } from "../builds/image-ref.js";
import { createDeployment, hasNewerDeployment, lockServiceDeployments } from "./deployment-repository.js";

/** Deploys `build` (completed, with its image) to `replicas` replicas, unless a newer build is deployed. */
export async function deployCompletedBuild(
  trx: Transaction<Database>,
  build: Build & { image_ref: string; image_digest: string },
  replicas: number,
): Promise<void> {
  await lockServiceDeployments(trx, build.service_id);
  if (await hasNewerDeployment(trx, build.service_id, build.id)) return;
  await createDeployment(trx, {
    serviceId: build.service_id,
    buildId: build.id,
    imageRef: imageByDigest(build.image_ref, build.image_digest),
    replicas,
    createdBy: `build:${build.id}`,
  });
}
