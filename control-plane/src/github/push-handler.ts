// Turns a verified push delivery into build rows. The delivery record and the builds are written in
// one transaction, so a push either leaves both or neither, and a redelivery creates nothing new.
import type { Db } from "../db/database.js";
import { insertBuild } from "../builds/build-repository.js";
import { notifyWorkAvailable } from "../agents/work-notifier.js";
import { recordDelivery } from "./deliveries.js";
import { pushSkipReason, type PushEvent } from "./push-event.js";

export interface PushResult {
  duplicate: boolean;
  outcome: "queued" | "ignored";
  reason: string;
  buildIds: string[];
}

export async function handlePush(db: Db, deliveryId: string, push: PushEvent): Promise<PushResult> {
  return db.transaction().execute(async (trx) => {
    let reason = pushSkipReason(push);
    let targets: { id: string }[] = [];
    if (reason === null) {
      const linked = await trx
        .selectFrom("services")
        .select(["id", "name", "branch"])
        .where("github_repo_id", "=", String(push.repositoryId))
        .execute();
      targets = linked.filter((service) => service.branch === push.branch);
      if (linked.length === 0) reason = `no service is linked to repository ${push.repositoryId}`;
      else if (targets.length === 0) {
        const watched = [...new Set(linked.map((s) => s.branch))].join(", ");
        reason = `no linked service builds branch ${push.branch} (linked services build: ${watched})`;
      } else reason = `queued ${targets.length} build(s) for branch ${push.branch}`;
    }
    const outcome = targets.length > 0 ? "queued" : "ignored";
    const fresh = await recordDelivery(trx, {
      deliveryId,
      event: "push",
      repositoryId: push.repositoryId,
      ref: push.ref,
      headSha: push.headSha,
      outcome,
      reason,
      buildsCreated: targets.length,
    });
    if (!fresh) return { duplicate: true, outcome, reason: "this delivery was already received", buildIds: [] };

    const buildIds: string[] = [];
    for (const service of targets) {
      const build = await insertBuild(trx, {
        serviceId: service.id,
        commitSha: push.headSha,
        branch: push.branch ?? "",
        commitMessage: push.message,
        trigger: "push",
        deliveryId,
        actor: `webhook:${deliveryId}`,
      });
      buildIds.push(build.id);
    }
    if (buildIds.length > 0) await notifyWorkAvailable(trx, "build");
    return { duplicate: false, outcome, reason, buildIds };
  });
}
