// A completed build is deployed in the transaction that completes it, by the digest it pushed, when
// its service deploys automatically or someone pressed Deploy while it was on its way. Builds can
// finish out of order, or at the same moment: under the service's deployment lock, a service is
// never rolled back to an older push this way. A stopped service stays stopped, unless the Deploy
// button was pressed after it stopped (pressing it starts the service); a build deployed by hand
// after the Deploy button was pressed (a rollback) is not undone when the requested build completes.
import { sql, type Transaction } from "kysely";
import type { Build, Database } from "../db/schema.js";
import { imageByDigest } from "../builds/image-ref.js";
import { createDeployment, hasNewerDeployment, lockServiceDeployments } from "./deployment-repository.js";

/**
 * Deploys `build` (completed, with its image) to the service's replicas, unless a newer build is
 * deployed, or the service does not deploy automatically (nor was a deploy of this build
 * requested), or it is stopped. Returns whether it deployed.
 */
export async function deployCompletedBuild(
  trx: Transaction<Database>,
  build: Build & { image_ref: string; image_digest: string },
): Promise<boolean> {
  await lockServiceDeployments(trx, build.service_id);
  const service = await trx
    .selectFrom("services")
    .select(["auto_deploy", "replicas", "stopped_at"])
    .where("id", "=", build.service_id)
    .executeTakeFirstOrThrow();
  const requested = build.deploy_requested_by !== null;
  if (!service.auto_deploy && !requested) return false;
  if (service.stopped_at) {
    // Only a Deploy pressed after the stop starts the service again.
    const requestedAt = build.deploy_requested_at ? new Date(build.deploy_requested_at) : null;
    if (!requestedAt || requestedAt < service.stopped_at) return false;
  }
  if (await hasNewerDeployment(trx, build.service_id, build.id)) return false;
  // A build chosen by hand after the request (a rollback, say) is not undone by this one completing.
  if (requested && !service.auto_deploy && (await deployedByHandSince(trx, build))) return false;
  if (service.stopped_at) {
    await trx.updateTable("services").set({ stopped_at: null }).where("id", "=", build.service_id).execute();
  }
  await createDeployment(trx, {
    serviceId: build.service_id,
    buildId: build.id,
    imageRef: imageByDigest(build.image_ref, build.image_digest),
    replicas: service.replicas,
    createdBy: requested ? (build.deploy_requested_by as string) : `build:${build.id}`,
    trigger: requested ? "manual" : "auto",
    triggerReason: requested ? build.deploy_request_reason : null,
  });
  return true;
}

async function deployedByHandSince(trx: Transaction<Database>, build: Build): Promise<boolean> {
  const row = await trx
    .selectFrom("deployments")
    .select("id")
    .where("service_id", "=", build.service_id)
    .where("trigger", "in", ["manual", "rollback"])
    .where("created_at", ">", build.deploy_requested_at as Date)
    .executeTakeFirst();
  return row !== undefined;
}

/** Marks a queued or running build to be deployed when it completes; call under the service's lock. */
export async function requestDeployOnCompletion(
  trx: Transaction<Database>,
  buildId: string,
  request: { actor: string; reason: string | null },
): Promise<Build> {
  return trx
    .updateTable("builds")
    .set({
      deploy_requested_by: request.actor,
      // The clock, not the transaction's start: compared with stopped_at, decided under the same lock.
      deploy_requested_at: sql<Date>`clock_timestamp()`,
      deploy_request_reason: request.reason,
    })
    .where("id", "=", buildId)
    .returningAll()
    .executeTakeFirstOrThrow();
}
