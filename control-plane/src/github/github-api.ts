// Every call Slipway makes to GitHub, in one place, through octokit. The base URLs come from
// GITHUB_API_URL and GITHUB_WEB_URL, so tests point them at a stand-in checked against GitHub's
// OpenAPI description. Nothing here logs a token.
import { createHash } from "node:crypto";
import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/core";
import { paginateRest } from "@octokit/plugin-paginate-rest";
import type { Config } from "../config.js";
import type { AppCredentials, GitHubAppStore, ManifestConversion } from "./app-credentials.js";

const GitHubOctokit = Octokit.plugin(paginateRest);
type Client = InstanceType<typeof GitHubOctokit>;

export class GitHubNotConfiguredError extends Error {
  override name = "GitHubNotConfiguredError";
  readonly statusCode = 409;
  constructor() {
    super("github: no GitHub App is configured (set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY, or create one)");
  }
}

export interface RepositoryInfo {
  id: number;
  owner: string;
  name: string;
  fullName: string;
  private: boolean;
  cloneUrl: string;
  defaultBranch: string;
}

interface RawRepository {
  id: number;
  name: string;
  full_name: string;
  private: boolean;
  clone_url: string;
  default_branch?: string;
  owner: { login: string };
}

export const toRepositoryInfo = (r: RawRepository): RepositoryInfo => ({
  id: r.id,
  owner: r.owner.login,
  name: r.name,
  fullName: r.full_name,
  private: r.private,
  cloneUrl: r.clone_url,
  defaultBranch: r.default_branch ?? "main",
});

export class GitHubApi {
  private readonly userAgent = "slipway";

  constructor(
    private readonly store: GitHubAppStore,
    private readonly config: Pick<Config, "GITHUB_API_URL" | "GITHUB_WEB_URL">,
  ) {}

  private plain(auth?: string): Client {
    return new GitHubOctokit({ baseUrl: this.config.GITHUB_API_URL, userAgent: this.userAgent, auth });
  }

  private async requireCredentials(): Promise<AppCredentials> {
    const credentials = await this.store.credentials();
    if (!credentials) throw new GitHubNotConfiguredError();
    return credentials;
  }

  private clients: { key: string; app: Client; installations: Map<number, Client> } | undefined;

  /**
   * Clients live as long as the app's credentials do: auth-app caches the JWT and installation
   * tokens inside each client, so a client per call would mint a token per call.
   */
  private async cachedClients() {
    const { appId, privateKey } = await this.requireCredentials();
    const key = `${appId}:${createHash("sha256").update(privateKey).digest("hex")}`;
    if (this.clients?.key !== key) {
      const app = new GitHubOctokit({
        baseUrl: this.config.GITHUB_API_URL,
        userAgent: this.userAgent,
        authStrategy: createAppAuth,
        auth: { appId, privateKey },
      });
      this.clients = { key, app, installations: new Map() };
    }
    return { ...this.clients, appId, privateKey };
  }

  /** Authenticated as the app itself (a short-lived JWT). */
  private async asApp(): Promise<Client> {
    return (await this.cachedClients()).app;
  }

  /** Authenticated as one installation (its tokens minted and reused by auth-app until they expire). */
  private async asInstallation(installationId: number): Promise<Client> {
    const clients = await this.cachedClients();
    let client = clients.installations.get(installationId);
    if (!client) {
      client = new GitHubOctokit({
        baseUrl: this.config.GITHUB_API_URL,
        userAgent: this.userAgent,
        authStrategy: createAppAuth,
        auth: { appId: clients.appId, privateKey: clients.privateKey, installationId },
      });
      clients.installations.set(installationId, client);
    }
    return client;
  }

  /** Step two of the manifest flow: GitHub hands over the new app's id, key and secrets. */
  async convertManifest(code: string): Promise<ManifestConversion> {
    const { data } = await this.plain().request("POST /app-manifests/{code}/conversions", { code });
    return data as unknown as ManifestConversion;
  }

  /** A token for exactly one repository with contents:read, minted for one build; never cached. */
  async mintCloneToken(installationId: number, repositoryId: number): Promise<{ token: string; expiresAt: string }> {
    const app = await this.asApp();
    const { data } = await app.request("POST /app/installations/{installation_id}/access_tokens", {
      installation_id: installationId,
      repository_ids: [repositoryId],
      permissions: { contents: "read" },
    });
    return { token: data.token, expiresAt: data.expires_at };
  }

  async installation(installationId: number) {
    const app = await this.asApp();
    const { data } = await app.request("GET /app/installations/{installation_id}", { installation_id: installationId });
    const account = data.account as { login?: string; slug?: string; type?: string } | null;
    return {
      id: data.id,
      accountLogin: account?.login ?? account?.slug ?? "",
      accountType: account?.type ?? (account?.slug ? "Enterprise" : "User"),
      repositorySelection: data.repository_selection,
      permissions: data.permissions as Record<string, string>,
      suspended: data.suspended_at !== null && data.suspended_at !== undefined,
    };
  }

  async installationRepositories(installationId: number): Promise<RepositoryInfo[]> {
    const octokit = await this.asInstallation(installationId);
    const repositories = await octokit.paginate("GET /installation/repositories", { per_page: 100 });
    return (repositories as unknown as RawRepository[]).map(toRepositoryInfo);
  }

  /** One repository as an installation sees it (private ones included). */
  async installationRepository(installationId: number, fullName: string): Promise<RepositoryInfo> {
    const [owner, repo] = splitFullName(fullName);
    const octokit = await this.asInstallation(installationId);
    const { data } = await octokit.request("GET /repos/{owner}/{repo}", { owner, repo });
    return toRepositoryInfo(data as unknown as RawRepository);
  }

  /** Exchanges a user-authorization code for a user token (used once, then dropped). */
  async exchangeUserCode(code: string): Promise<string> {
    const { clientId, clientSecret } = await this.requireCredentials();
    if (!clientId || !clientSecret) throw new GitHubNotConfiguredError();
    const response = await fetch(new URL("/login/oauth/access_token", this.config.GITHUB_WEB_URL), {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json", "user-agent": this.userAgent },
      body: JSON.stringify({ client_id: clientId, client_secret: clientSecret, code }),
    });
    const body = (await response.json().catch(() => ({}))) as { access_token?: string; error?: string };
    if (!response.ok || !body.access_token) {
      throw new UserAuthorizationError(`GitHub did not accept the authorization (${body.error ?? response.status})`);
    }
    return body.access_token;
  }

  /** The installations of this app the user behind `userToken` can access. */
  async userInstallationIds(userToken: string): Promise<number[]> {
    const installations = await this.plain(userToken).paginate("GET /user/installations", { per_page: 100 });
    return (installations as unknown as { id: number }[]).map((i) => i.id);
  }

  /** A public repository, read without credentials; undefined when it does not exist or is private. */
  async publicRepository(owner: string, name: string): Promise<RepositoryInfo | undefined> {
    try {
      const { data } = await this.plain().request("GET /repos/{owner}/{repo}", { owner, repo: name });
      return data.private ? undefined : toRepositoryInfo(data as unknown as RawRepository);
    } catch (error) {
      if ((error as { status?: number }).status === 404) return undefined;
      throw error;
    }
  }

  async createDeployment(
    installationId: number,
    repository: string,
    input: { ref: string; environment: string; description: string; payload: Record<string, unknown> },
  ): Promise<number> {
    const [owner, repo] = splitFullName(repository);
    const octokit = await this.asInstallation(installationId);
    const { data } = await octokit.request("POST /repos/{owner}/{repo}/deployments", {
      owner,
      repo,
      ref: input.ref,
      environment: input.environment,
      description: input.description,
      payload: input.payload,
      auto_merge: false,
      required_contexts: [],
      transient_environment: false,
      production_environment: true,
    });
    if (!("id" in data)) throw new Error(`github: deployment was not created: ${data.message ?? "no reason given"}`);
    return Number(data.id);
  }

  async createDeploymentStatus(
    installationId: number,
    repository: string,
    deploymentId: number,
    input: { state: DeploymentState; logUrl: string; environmentUrl: string; description: string },
  ): Promise<void> {
    const [owner, repo] = splitFullName(repository);
    const octokit = await this.asInstallation(installationId);
    await octokit.request("POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses", {
      owner,
      repo,
      deployment_id: deploymentId,
      state: input.state,
      log_url: input.logUrl,
      environment_url: input.environmentUrl,
      description: input.description.slice(0, 140),
      auto_inactive: true,
    });
  }
}

export type DeploymentState = "queued" | "in_progress" | "success" | "failure" | "error" | "inactive";

export class UserAuthorizationError extends Error {
  override name = "UserAuthorizationError";
  readonly statusCode = 400;
}

function splitFullName(fullName: string): [string, string] {
  const [owner, repo] = fullName.split("/");
  if (!owner || !repo) throw new Error(`github: ${fullName} is not owner/name`);
  return [owner, repo];
}
