// Who may fetch a build's repository with a token, and the token. A token is minted only for the
// agent holding the build's lease, only when the organisation that installed the GitHub App owns
// the service (and the agent), and only for the installation's own clone URL of that repository.
import type { Db } from "../db/database.js";
import { LeaseLostError, forbidden, invalid } from "../errors.js";
import { BUILD_TABLE } from "../builds/build-work.js";
import { holdsLease } from "../work/sql/holds-lease.js";
import type { Lease } from "../work/kind.js";
import type { GitHubApi } from "./github-api.js";
import { REPOSITORY_STATE_COLUMNS, repositoryProblem } from "./repository-state.js";

export interface CloneCredentials {
  username: string;
  password: string;
  expiresAt: Date;
  /** For the log: which repository the token opens. */
  repository: string;
}

/**
 * A token to clone the repository of the build `lease` names, minted for that one repository with
 * contents:read; undefined when the repository needs none (public, or not on GitHub).
 */
export async function cloneCredentials(
  db: Db,
  github: GitHubApi,
  lease: Lease & { kind: string; orgId: string },
): Promise<CloneCredentials | undefined> {
  if (lease.kind !== BUILD_TABLE.name) throw invalid("credentials are handed out for builds only");
  if (!(await holdsLease(db, BUILD_TABLE, lease))) throw new LeaseLostError(lease.id);
  const repo = await db
    .selectFrom("builds")
    .innerJoin("services", "services.id", "builds.service_id")
    .innerJoin("projects", "projects.id", "services.project_id")
    .innerJoin("github_repos", "github_repos.id", "services.github_repo_id")
    .leftJoin("github_installations", "github_installations.id", "github_repos.installation_id")
    .select([
      "projects.org_id as service_org",
      "github_installations.org_id as installation_org",
      "services.git_url",
      "github_repos.clone_url",
      "github_repos.id as repository_id",
      ...REPOSITORY_STATE_COLUMNS,
    ])
    .where("builds.id", "=", lease.id)
    .executeTakeFirst();
  const entitled =
    repo !== undefined &&
    repo.installation_id !== null &&
    repo.installation_org === repo.service_org &&
    repo.service_org === lease.orgId &&
    (repo.clone_url === null || repo.clone_url === repo.git_url);
  if (!repo || !entitled) return undefined;
  const problem = repositoryProblem(repo);
  if (problem) throw forbidden(problem);
  const token = await github.mintCloneToken(Number(repo.installation_id), Number(repo.repository_id));
  return {
    username: "x-access-token",
    password: token.token,
    expiresAt: new Date(token.expiresAt),
    repository: repo.full_name,
  };
}
