// Where a new service's code comes from, checked before the service is created: a repository of the
// organisation's GitHub App installations, a public GitHub repository, or any git URL.
import type { Db } from "../db/database.js";
import type { Actor } from "../auth/bootstrap-auth.js";
import type { GitHubApi } from "../github/github-api.js";
import { REPOSITORY_STATE_COLUMNS, repositoryProblem } from "../github/repository-state.js";
import { DomainError, conflict, invalid, unprocessable } from "../errors.js";

export interface RepositorySource {
  gitUrl: string;
  githubRepoId: number | null;
  defaultBranch: string | undefined;
}

export interface SourceInput {
  gitUrl?: string | undefined;
  githubRepoId?: number | undefined;
  githubUrl?: string | undefined;
}

export async function resolveRepositorySource(
  db: Db,
  github: GitHubApi,
  githubWebUrl: string,
  actor: Actor,
  input: SourceInput,
): Promise<RepositorySource> {
  if (input.githubUrl !== undefined) {
    if (input.gitUrl !== undefined || input.githubRepoId !== undefined) {
      throw invalid("give githubUrl alone, or gitUrl (with an optional githubRepoId), or githubRepoId alone");
    }
    return publicGitHubRepository(db, github, githubWebUrl, input.githubUrl);
  }
  if (input.gitUrl !== undefined) {
    if (input.githubRepoId !== undefined) await checkRepositoryClaim(db, actor, input.githubRepoId, input.gitUrl);
    return { gitUrl: input.gitUrl, githubRepoId: input.githubRepoId ?? null, defaultBranch: undefined };
  }
  if (input.githubRepoId !== undefined) return installedRepository(db, github, actor, input.githubRepoId);
  throw invalid("a service needs a repository: githubRepoId, githubUrl or gitUrl");
}

/**
 * A git URL may name the GitHub repository whose pushes build it. A repository that an installation
 * reaches must be one of this organisation's, at its own clone URL: otherwise another organisation's
 * pushes, tokens and GitHub Deployments would flow to this service.
 */
async function checkRepositoryClaim(db: Db, actor: Actor, repositoryId: number, gitUrl: string): Promise<void> {
  const repo = await db
    .selectFrom("github_repos")
    .leftJoin("github_installations", "github_installations.id", "github_repos.installation_id")
    .select(["github_repos.installation_id", "github_repos.clone_url", "github_installations.org_id"])
    .where("github_repos.id", "=", String(repositoryId))
    .executeTakeFirst();
  if (!repo || repo.installation_id === null) return;
  if (repo.org_id !== actor.orgId) {
    throw conflict(`repository ${repositoryId} belongs to a GitHub App installation of another organisation`);
  }
  if (repo.clone_url && repo.clone_url !== gitUrl) {
    throw conflict(`repository ${repositoryId} is cloned from ${repo.clone_url}; link it with githubRepoId alone`);
  }
}

/** A repository reachable through one of the organisation's installations. */
async function installedRepository(
  db: Db,
  github: GitHubApi,
  actor: Actor,
  repositoryId: number,
): Promise<RepositorySource> {
  const repo = await db
    .selectFrom("github_repos")
    .innerJoin("github_installations", "github_installations.id", "github_repos.installation_id")
    .select([...REPOSITORY_STATE_COLUMNS, "github_repos.clone_url", "github_repos.default_branch"])
    .where("github_repos.id", "=", String(repositoryId))
    .where("github_installations.org_id", "=", actor.orgId)
    .executeTakeFirst();
  if (!repo) {
    throw new DomainError(
      "not-found",
      `repository ${repositoryId} is not reachable through this organisation's GitHub App installations`,
    );
  }
  const problem = repositoryProblem(repo);
  if (problem) throw conflict(problem);
  let { clone_url: cloneUrl, default_branch: defaultBranch } = repo;
  if (!cloneUrl) {
    // Repositories added by webhook arrive without a clone URL: ask GitHub once and keep it.
    const info = await github.installationRepository(Number(repo.installation_id), repo.full_name);
    cloneUrl = info.cloneUrl;
    defaultBranch = info.defaultBranch;
    await db
      .updateTable("github_repos")
      .set({ clone_url: cloneUrl, default_branch: defaultBranch })
      .where("id", "=", String(repositoryId))
      .execute();
  }
  return { gitUrl: cloneUrl, githubRepoId: repositoryId, defaultBranch: defaultBranch ?? undefined };
}

/** A public repository given by its GitHub URL; it builds without any token. */
async function publicGitHubRepository(
  db: Db,
  github: GitHubApi,
  githubWebUrl: string,
  url: string,
): Promise<RepositorySource> {
  const expectedHost = new URL(githubWebUrl).host;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid("githubUrl is not a URL");
  }
  const match = /^\/([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+?)(?:\.git)?\/?$/.exec(parsed.pathname);
  if (parsed.host !== expectedHost || !match?.[1] || !match[2]) {
    throw invalid(`githubUrl must look like ${githubWebUrl.replace(/\/$/, "")}/owner/repository`);
  }
  const repo = await github.publicRepository(match[1], match[2]);
  if (!repo) throw unprocessable(`${match[1]}/${match[2]} is not a public GitHub repository`);
  await db
    .insertInto("github_repos")
    .values({
      id: repo.id,
      installation_id: null,
      full_name: repo.fullName,
      owner: repo.owner,
      name: repo.name,
      private: false,
      clone_url: repo.cloneUrl,
      default_branch: repo.defaultBranch,
      removed_at: null,
    })
    .onConflict((oc) => oc.column("id").doNothing())
    .execute();
  return { gitUrl: repo.cloneUrl, githubRepoId: repo.id, defaultBranch: repo.defaultBranch };
}
