// The work core's statements bound to builds, under the names the build status machine's tests
// use (control-plane/src/builds/build-queue.test.ts). Each is one call into the core: what runs
// is exactly what the control plane runs.
import type { Db } from "@slipway/control-plane";
import type { Build } from "../control-plane/src/db/schema.js";
import { BUILD_TABLE } from "../control-plane/src/builds/build-work.js";
import { DEPLOY_TABLE } from "../control-plane/src/deployments/deploy-work.js";
import { LeaseLostError } from "../control-plane/src/errors.js";
import type { AgentPhase } from "../control-plane/src/builds/build-status.js";
import { advanceWork } from "../control-plane/src/work/sql/advance.js";
import { claimWork } from "../control-plane/src/work/sql/claim.js";
import { extendLiveLeases as extendLeasesOf } from "../control-plane/src/work/sql/extend-live-leases.js";
import { finishWork } from "../control-plane/src/work/sql/finish.js";
import { reapExpired } from "../control-plane/src/work/sql/give-back.js";
import { renewLeases } from "../control-plane/src/work/sql/renew.js";

export { insertBuild } from "../control-plane/src/builds/build-work.js";
export { LeaseLostError };

interface HeldBuild {
  id: string;
  leaseToken: string;
  agentId: string;
}

export type BuildOutcome =
  | { status: "completed"; imageRef: string; imageDigest: string }
  | { status: "failed"; reason: string }
  | { status: "cancelled"; reason: string };

export const leaseKey = (id: string, leaseToken: string) => `${id}/${leaseToken}`;

export async function claimNextBuild(
  db: Db,
  agentId: string,
  leaseSeconds: number,
  claimKey: string | null = null,
): Promise<Build | undefined> {
  const [claimed] = await claimWork<Build>(db, BUILD_TABLE, [{ agentId, claimKey }], leaseSeconds, [BUILD_TABLE]);
  return claimed;
}

export const advanceBuild = (db: Db, input: HeldBuild & { phase: AgentPhase }) =>
  advanceWork(db, BUILD_TABLE, input, input.phase);

export async function finishBuild(db: Db, input: HeldBuild & { outcome: BuildOutcome }): Promise<Build> {
  const { outcome } = input;
  const [build] = await finishWork<Build>(db, BUILD_TABLE, [
    {
      lease: input,
      ending:
        outcome.status === "completed"
          ? {
              status: "completed",
              reason: null,
              set: { image_ref: outcome.imageRef, image_digest: outcome.imageDigest },
            }
          : { status: outcome.status, reason: outcome.reason },
    },
  ]);
  if (!build) throw new LeaseLostError(input.id);
  return build;
}

/** The new expiry of each lease the agent still holds, by leaseKey. */
export async function renewBuildLeases(
  db: Db,
  agentId: string,
  held: { id: string; leaseToken: string }[],
  leaseSeconds: number,
): Promise<Map<string, Date>> {
  const renewed = await renewLeases(db, BUILD_TABLE, agentId, held, leaseSeconds);
  return new Map(renewed.map((lease) => [leaseKey(lease.id, lease.lease_token), lease.lease_expires_at]));
}

export async function reapExpiredBuilds(db: Db): Promise<{ requeued: number; failed: number }> {
  const reaped = await reapExpired(db, BUILD_TABLE);
  const requeued = reaped.filter((build) => build.status === "pending").length;
  return { requeued, failed: reaped.length - requeued };
}

export async function extendLiveLeases(db: Db, leaseSeconds: number): Promise<number> {
  return (await extendLeasesOf(db, BUILD_TABLE, leaseSeconds)) + (await extendLeasesOf(db, DEPLOY_TABLE, leaseSeconds));
}
