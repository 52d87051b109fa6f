// The outbox of GitHub Deployments: one row per build of a service linked through an installation,
// written in the build's own transaction. Background jobs (github/deployment-sync.ts) read it and
// bring GitHub in step; nothing here talks to GitHub.
import type { Transaction } from "kysely";
import type { Database } from "../db/schema.js";

export async function queueGitHubDeployment(
  trx: Transaction<Database>,
  input: { buildId: string; installationId: number; repository: string; environment: string },
): Promise<void> {
  await trx
    .insertInto("github_deployments")
    .values({
      build_id: input.buildId,
      installation_id: input.installationId,
      repository: input.repository,
      environment: input.environment,
      deployment_id: null,
      last_state: null,
      last_error: null,
    })
    .onConflict((oc) => oc.column("build_id").doNothing())
    .execute();
}
