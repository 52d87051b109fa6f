// Builds as a kind of leased work (work/kind.ts): where they are stored, who may take them, the spec
// an agent builds from, what its report means, and what follows a completed build (its image is
// recorded and, for an auto-deploying service, deployed).
import { sql, type Transaction } from "kysely";
import type { BuildSpec } from "@slipway/proto";
import type { Build, Database } from "../db/schema.js";
import { invalid } from "../errors.js";
import type { WorkEnding, WorkKind, WorkReport, WorkTable } from "../work/kind.js";
import { enqueueWork } from "../work/sql/enqueue.js";
import { deployCompletedBuild } from "../deployments/auto-deploy.js";
import { LEASED_BUILD_STATUSES, PHASE_PREDECESSORS } from "./build-status.js";
import { imageRefFor } from "./image-ref.js";

export const BUILD_TABLE: WorkTable = {
  name: "build",
  table: "builds",
  statusType: "build_status",
  history: { table: "build_status_history", workColumn: "build_id" },
  leased: LEASED_BUILD_STATUSES,
  phases: PHASE_PREDECESSORS,
  claimOrder: sql`created_at, id`,
  // An agent of the service's organisation carrying every label the service asks of its builders.
  owner: {
    column: "service_id",
    rows: sql`SELECT s.id, p.org_id, s.build_agent_labels AS labels FROM services s JOIN projects p ON p.id = s.project_id`,
  },
  cancellable: true,
  requeue: true,
  givenUpStatus: "failed",
  logs: { table: "build_log_chunks", workColumn: "build_id" },
  details: (build) => sql`(
    SELECT json_build_object('projectId', s.project_id, 'gitUrl', s.git_url, 'rootDir', s.root_dir)
    FROM services s WHERE s.id = ${build}.service_id)`,
};

interface BuildDetails {
  projectId: string;
  gitUrl: string;
  rootDir: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function buildWork(options: { registryHost: string }): WorkKind<Build, BuildSpec> {
  return {
    ...BUILD_TABLE,
    capability: "build",
    spec(build, details): BuildSpec {
      const { projectId, gitUrl, rootDir } = details as BuildDetails;
      return {
        projectId,
        serviceId: build.service_id,
        gitUrl,
        commitSha: build.commit_sha,
        branch: build.branch,
        rootDir,
        imageRef: imageRefFor(options.registryHost, {
          projectId,
          serviceId: build.service_id,
          commitSha: build.commit_sha,
        }),
      };
    },
    ending(report: WorkReport): WorkEnding {
      if (report.outcome === "succeeded") {
        const digest = (report.result as { imageDigest?: unknown } | undefined)?.imageDigest;
        if (typeof digest !== "string" || !DIGEST.test(digest)) {
          throw invalid("a completed build needs its image digest (sha256:…)");
        }
        return { status: "completed", reason: null, set: { image_digest: digest } };
      }
      return { status: report.outcome === "failed" ? "failed" : "cancelled", reason: report.error };
    },
    onEnded: {
      statuses: ["completed"],
      async run(trx, builds) {
        for (const build of builds) await recordImageAndDeploy(trx, build, options.registryHost);
      },
    },
  };
}

/**
 * A completed build's image is where its spec said to push it; it is deployed when its service
 * deploys automatically or a deploy of it was requested (deployments/auto-deploy.ts decides).
 */
async function recordImageAndDeploy(trx: Transaction<Database>, build: Build, registryHost: string): Promise<void> {
  const service = await trx
    .selectFrom("services")
    .select(["project_id", "auto_deploy"])
    .where("id", "=", build.service_id)
    .executeTakeFirstOrThrow();
  const imageRef = imageRefFor(registryHost, {
    projectId: service.project_id,
    serviceId: build.service_id,
    commitSha: build.commit_sha,
  });
  await trx.updateTable("builds").set({ image_ref: imageRef }).where("id", "=", build.id).execute();
  // A completed build always has its digest (ending() refuses one without).
  const pushed = { ...build, image_ref: imageRef, image_digest: build.image_digest as string };
  if (service.auto_deploy || build.deploy_requested_by) await deployCompletedBuild(trx, pushed);
}

export interface NewBuildInput {
  serviceId: string;
  commitSha: string;
  branch: string;
  commitMessage?: string;
  trigger: "push" | "manual" | "retry";
  retryOf?: string | null;
  actor: string;
}

/** Queues one build (its history names `actor`); call inside the caller's transaction. */
export async function insertBuild(trx: Transaction<Database>, input: NewBuildInput): Promise<Build> {
  const [build] = await enqueueWork<Build>(
    trx,
    BUILD_TABLE,
    [
      {
        service_id: input.serviceId,
        commit_sha: input.commitSha,
        branch: input.branch,
        commit_message: input.commitMessage ?? "",
        trigger: input.trigger,
        retry_of: input.retryOf ?? null,
      },
    ],
    input.actor,
  );
  return build as Build;
}
