// A completed build of an auto-deploying service is deployed in the transaction that completes it.
// Builds can finish out of order: a service is never rolled back to an older push this way.
import type { Transaction } from "kysely";
import type { Build, Database } from "../db/schema.js";
import { createDeployment, hasNewerDeployment } from "./deployment-repository.js";

/** Deploys `build` (completed, with its image) to `replicas` replicas, unless a newer build is deployed. */
export async function deployCompletedBuild(
  trx: Transaction<Database>,
  build: Build & { image_ref: string },
  replicas: number,
): Promise<void> {
  if (await hasNewerDeployment(trx, build.service_id, build.id)) return;
  await createDeployment(trx, {
    serviceId: build.service_id,
    buildId: build.id,
    imageRef: build.image_ref,
    replicas,
    createdBy: `build:${build.id}`,
  });
}
