// The stand-in's state, and its JSON renderings in GitHub's shapes (field for field as in the
// OpenAPI description, with the URL conventions of api.github.com and github.com).
import type { KeyObject } from "node:crypto";

export interface AccountRecord {
  id: number;
  login: string;
  type: "User" | "Organization" | "Bot";
}

export interface AppRecord {
  id: number;
  slug: string;
  name: string;
  description: string | null;
  externalUrl: string;
  owner: AccountRecord;
  /** The app's bot user, the creator of what the app does with installation tokens. */
  bot: AccountRecord;
  clientId: string;
  clientSecret: string;
  webhookSecret: string;
  privateKeyPem: string;
  publicKey: KeyObject;
  permissions: Record<string, string>;
  events: string[];
  callbackUrls: string[];
  setupUrl: string | null;
  webhookUrl: string | null;
  createdAt: Date;
}

export interface InstallationRecord {
  id: number;
  appId: number;
  account: AccountRecord;
  repositorySelection: "all" | "selected";
  /** With "all", every repository of the account; kept explicitly in both cases. */
  repositoryIds: number[];
  createdAt: Date;
}

export interface RepoRecord {
  id: number;
  owner: AccountRecord;
  name: string;
  private: boolean;
  defaultBranch: string;
  createdAt: Date;
}

export interface DeploymentRecord {
  id: number;
  repoId: number;
  ref: string;
  sha: string;
  task: string;
  environment: string;
  originalEnvironment: string;
  description: string | null;
  payload: unknown;
  transientEnvironment: boolean;
  productionEnvironment: boolean;
  creator: AccountRecord;
  appId: number | null;
  createdAt: Date;
  updatedAt: Date;
  statuses: StatusRecord[];
}

export interface StatusRecord {
  id: number;
  state: string;
  description: string;
  environment: string;
  targetUrl: string;
  logUrl: string;
  environmentUrl: string;
  creator: AccountRecord;
  appId: number | null;
  createdAt: Date;
}

/** GitHub's timestamps: ISO 8601 in UTC, without milliseconds. */
export const timestamp = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");

/** GitHub's (legacy, still served) global node ids: base64 of "0<len>:<Type><id>". */
export const nodeId = (type: string, id: number) =>
  Buffer.from(`0${type.length}:${type}${id}`).toString("base64").replace(/=+$/, "");

/** Where the stand-in lives: it answers both as api.github.com and as github.com. */
export interface Urls {
  api: string;
  web: string;
  clone: string;
}

export function simpleUser(account: AccountRecord, urls: Urls) {
  // Bots' logins end in "[bot]", which GitHub percent-encodes in URLs; their page is the app's.
  const api = `${urls.api}/users/${encodeURIComponent(account.login)}`;
  const html =
    account.type === "Bot"
      ? `${urls.web}/apps/${account.login.replace(/\[bot\]$/, "")}`
      : `${urls.web}/${account.login}`;
  return {
    login: account.login,
    id: account.id,
    node_id: nodeId(account.type, account.id),
    avatar_url: `${urls.web}/avatars/u/${account.id}?v=4`,
    gravatar_id: "",
    url: api,
    html_url: html,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: account.type,
    user_view_type: "public",
    site_admin: false,
  };
}

export function integration(app: AppRecord, urls: Urls, installationsCount: number) {
  return {
    id: app.id,
    slug: app.slug,
    node_id: nodeId("Integration", app.id),
    client_id: app.clientId,
    owner: simpleUser(app.owner, urls),
    name: app.name,
    description: app.description,
    external_url: app.externalUrl,
    html_url: `${urls.web}/apps/${app.slug}`,
    created_at: timestamp(app.createdAt),
    updated_at: timestamp(app.createdAt),
    permissions: app.permissions,
    events: app.events,
    installations_count: installationsCount,
  };
}

export function installation(record: InstallationRecord, app: AppRecord, urls: Urls) {
  const html =
    record.account.type === "Organization"
      ? `${urls.web}/organizations/${record.account.login}/settings/installations/${record.id}`
      : `${urls.web}/settings/installations/${record.id}`;
  return {
    id: record.id,
    client_id: app.clientId,
    account: simpleUser(record.account, urls),
    repository_selection: record.repositorySelection,
    access_tokens_url: `${urls.api}/app/installations/${record.id}/access_tokens`,
    repositories_url: `${urls.api}/installation/repositories`,
    html_url: html,
    app_id: app.id,
    app_slug: app.slug,
    target_id: record.account.id,
    target_type: record.account.type,
    permissions: app.permissions,
    events: app.events,
    created_at: timestamp(record.createdAt),
    updated_at: timestamp(record.createdAt),
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_by: null,
    suspended_at: null,
  };
}

/** Read/write access of the caller, as GitHub reports it on authenticated repository responses. */
export interface RepoPermissions {
  admin: boolean;
  maintain: boolean;
  push: boolean;
  triage: boolean;
  pull: boolean;
}

/** The `repository` schema: what lists and installation tokens carry. */
export function repository(repo: RepoRecord, urls: Urls, permissions?: RepoPermissions) {
  const fullName = `${repo.owner.login}/${repo.name}`;
  const api = `${urls.api}/repos/${fullName}`;
  const html = `${urls.web}/${fullName}`;
  const host = new URL(urls.web).host;
  return {
    id: repo.id,
    node_id: nodeId("Repository", repo.id),
    name: repo.name,
    full_name: fullName,
    private: repo.private,
    owner: simpleUser(repo.owner, urls),
    html_url: html,
    description: null,
    fork: false,
    url: api,
    archive_url: `${api}/{archive_format}{/ref}`,
    assignees_url: `${api}/assignees{/user}`,
    blobs_url: `${api}/git/blobs{/sha}`,
    branches_url: `${api}/branches{/branch}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    comments_url: `${api}/comments{/number}`,
    commits_url: `${api}/commits{/sha}`,
    compare_url: `${api}/compare/{base}...{head}`,
    contents_url: `${api}/contents/{+path}`,
    contributors_url: `${api}/contributors`,
    deployments_url: `${api}/deployments`,
    downloads_url: `${api}/downloads`,
    events_url: `${api}/events`,
    forks_url: `${api}/forks`,
    git_commits_url: `${api}/git/commits{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    git_url: `git://${host}/${fullName}.git`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    issue_events_url: `${api}/issues/events{/number}`,
    issues_url: `${api}/issues{/number}`,
    keys_url: `${api}/keys{/key_id}`,
    labels_url: `${api}/labels{/name}`,
    languages_url: `${api}/languages`,
    merges_url: `${api}/merges`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    pulls_url: `${api}/pulls{/number}`,
    releases_url: `${api}/releases{/id}`,
    ssh_url: `git@${host}:${fullName}.git`,
    stargazers_url: `${api}/stargazers`,
    statuses_url: `${api}/statuses/{sha}`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    tags_url: `${api}/tags`,
    teams_url: `${api}/teams`,
    trees_url: `${api}/git/trees{/sha}`,
    clone_url: `${urls.clone}/${fullName}.git`,
    mirror_url: null,
    hooks_url: `${api}/hooks`,
    svn_url: html,
    homepage: null,
    language: null,
    forks_count: 0,
    stargazers_count: 0,
    watchers_count: 0,
    size: 0,
    default_branch: repo.defaultBranch,
    open_issues_count: 0,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: true,
    has_wiki: true,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: repo.private ? "private" : "public",
    pushed_at: timestamp(repo.createdAt),
    created_at: timestamp(repo.createdAt),
    updated_at: timestamp(repo.createdAt),
    ...(permissions ? { permissions } : {}),
    allow_forking: !repo.private,
    web_commit_signoff_required: false,
    license: null,
    forks: 0,
    open_issues: 0,
    watchers: 0,
  };
}

/** The `full-repository` schema: GET /repos/{owner}/{repo}. */
export function fullRepository(repo: RepoRecord, urls: Urls, permissions?: RepoPermissions) {
  return {
    ...repository(repo, urls, permissions),
    ...(repo.owner.type === "Organization" ? { organization: simpleUser(repo.owner, urls) } : {}),
    allow_rebase_merge: true,
    allow_squash_merge: true,
    allow_merge_commit: true,
    allow_auto_merge: false,
    allow_update_branch: false,
    delete_branch_on_merge: false,
    squash_merge_commit_title: "COMMIT_OR_PR_TITLE",
    squash_merge_commit_message: "COMMIT_MESSAGES",
    merge_commit_title: "MERGE_MESSAGE",
    merge_commit_message: "PR_TITLE",
    temp_clone_token: null,
    network_count: 0,
    subscribers_count: 0,
  };
}

export function deployment(record: DeploymentRecord, repo: RepoRecord, urls: Urls, app: unknown) {
  const repoApi = `${urls.api}/repos/${repo.owner.login}/${repo.name}`;
  return {
    url: `${repoApi}/deployments/${record.id}`,
    id: record.id,
    node_id: nodeId("Deployment", record.id),
    sha: record.sha,
    ref: record.ref,
    task: record.task,
    payload: record.payload,
    original_environment: record.originalEnvironment,
    environment: record.environment,
    description: record.description,
    creator: simpleUser(record.creator, urls),
    created_at: timestamp(record.createdAt),
    updated_at: timestamp(record.updatedAt),
    statuses_url: `${repoApi}/deployments/${record.id}/statuses`,
    repository_url: repoApi,
    transient_environment: record.transientEnvironment,
    production_environment: record.productionEnvironment,
    performed_via_github_app: app ?? null,
  };
}

export function deploymentStatus(
  record: StatusRecord,
  deploymentRecord: DeploymentRecord,
  repo: RepoRecord,
  urls: Urls,
  app: unknown,
) {
  const repoApi = `${urls.api}/repos/${repo.owner.login}/${repo.name}`;
  return {
    url: `${repoApi}/deployments/${deploymentRecord.id}/statuses/${record.id}`,
    id: record.id,
    node_id: nodeId("DeploymentStatus", record.id),
    state: record.state,
    creator: simpleUser(record.creator, urls),
    description: record.description,
    environment: record.environment,
    target_url: record.targetUrl,
    created_at: timestamp(record.createdAt),
    updated_at: timestamp(record.createdAt),
    deployment_url: `${repoApi}/deployments/${deploymentRecord.id}`,
    repository_url: repoApi,
    environment_url: record.environmentUrl,
    log_url: record.logUrl,
    performed_via_github_app: app ?? null,
  };
}
