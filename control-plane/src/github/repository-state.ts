// Whether a linked GitHub repository can still be built, in words a user can act on.

/**
 * The columns repositoryProblem() reads, for queries that join github_repos to github_installations
 * (left join: a public repository has no installation).
 */
export const REPOSITORY_STATE_COLUMNS = [
  "github_repos.full_name",
  "github_repos.installation_id",
  "github_repos.removed_at",
  "github_installations.suspended_at",
  "github_installations.deleted_at",
] as const;

export interface RepositoryState {
  full_name: string;
  installation_id: string | null;
  removed_at: Date | null;
  suspended_at: Date | null;
  deleted_at: Date | null;
}

/** Null when the repository builds; otherwise why it does not. */
export function repositoryProblem(repo: RepositoryState): string | null {
  if (repo.removed_at) return `repository ${repo.full_name} was removed from the GitHub App installation`;
  if (repo.installation_id === null) return null; // a public repository linked without an installation
  if (repo.deleted_at) return `the GitHub App installation for ${repo.full_name} was deleted`;
  if (repo.suspended_at) return `the GitHub App installation for ${repo.full_name} is suspended`;
  return null;
}
