// A local stand-in for GitHub, for tests: the REST API operations and github.com web endpoints a
// GitHub App uses (manifest flow, installation tokens, user OAuth, repositories, deployments), with
// GitHub's auth rules and status codes. Every JSON response is validated against GitHub's OpenAPI
// description; tests assert `violations()` is empty, so the stand-in cannot drift from the real API.
import { execFile } from "node:child_process";
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, randomInt } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { verifyAppJwt } from "./jwt.js";
import {
  deployment as deploymentJson,
  deploymentStatus as deploymentStatusJson,
  fullRepository,
  installation as installationJson,
  integration,
  repository as repositoryJson,
  timestamp,
  type AccountRecord,
  type AppRecord,
  type DeploymentRecord,
  type InstallationRecord,
  type RepoPermissions,
  type RepoRecord,
  type StatusRecord,
  type Urls,
} from "./objects.js";
import { loadResponseValidator, type ResponseValidator } from "./openapi.js";

export { signAppJwt, type JwtTimes } from "./jwt.js";
export { loadResponseValidator, type ResponseValidator } from "./openapi.js";

/** Validates one response body as the stand-in does; returns the violation, or null. */
export async function validateResponse(
  method: string,
  pathTemplate: string,
  status: number,
  body: unknown,
): Promise<string | null> {
  return (await loadResponseValidator()).validate(method, pathTemplate, status, body);
}

const run = promisify(execFile);

export interface StandInOptions {
  /** Repositories' clone_url is `${cloneBaseUrl}/${owner}/${name}.git`; default: the stand-in's url + /git. */
  cloneBaseUrl?: string;
  /**
   * Directory holding the bare repositories as `{owner}/{name}.git` (the git server's root). When a
   * repository is there, deployments resolve `ref` to its commit like GitHub (422 when unknown);
   * otherwise a 40-hex ref is taken as the sha and other refs get a stable made-up sha.
   */
  gitRoot?: string;
}

export interface App {
  id: number;
  slug: string;
  name: string;
  clientId: string;
  clientSecret: string;
  webhookSecret: string;
  privateKeyPem: string;
}

export interface CreateAppInput {
  slug?: string;
  name?: string;
  /** Default { contents: "read", deployments: "write", metadata: "read" }; metadata is always added. */
  permissions?: Record<string, string>;
  /** Default ["push"]. */
  events?: string[];
  /** Where user authorization redirects; when set, an OAuth redirect_uri must fall under one of them. */
  callbackUrls?: string[];
  setupUrl?: string;
  webhookUrl?: string;
  /** Default: the organization "slipway-apps". */
  owner?: { login: string; type: "User" | "Organization" };
}

export interface Repo {
  id: number;
  name: string;
  fullName: string;
  private: boolean;
  cloneUrl: string;
  defaultBranch: string;
}

export interface Installation {
  id: number;
  appId: number;
  account: { login: string; type: "User" | "Organization" };
  repositories: Repo[];
}

export interface AddInstallationInput {
  appId: number;
  account: { login: string; type: "User" | "Organization" };
  /** Repositories are created under the account (or reused when they exist); private defaults to false. */
  repositories: { name: string; private?: boolean; defaultBranch?: string }[];
  /** Default "selected", GitHub's usual choice for an app installed on a few repositories. */
  repositorySelection?: "all" | "selected";
}

export interface User {
  id: number;
  login: string;
}

export interface MintedToken {
  token: string;
  installationId: number;
  /** null: every repository of the installation (now and later). */
  repositoryIds: number[] | null;
  permissions: Record<string, string>;
  expiresAt: string;
}

export interface DeploymentView {
  id: number;
  ref: string;
  sha: string;
  environment: string;
  payload: unknown;
  statuses: { state: string; log_url?: string; environment_url?: string; description?: string }[];
}

export interface InjectedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface GitHubStandIn {
  /** http://127.0.0.1:PORT: both GITHUB_API_URL and GITHUB_WEB_URL. */
  url: string;
  createApp(input?: CreateAppInput): App;
  addInstallation(input: AddInstallationInput): Installation;
  addRepository(input: { owner: string; name: string; private?: boolean; defaultBranch?: string }): Repo;
  addUser(input: { login: string; installationIds: number[] }): User;
  removeRepositoryFromInstallation(installationId: number, repoId: number): void;
  apps(): App[];
  deployments(fullName: string): DeploymentView[];
  mintedTokens(): MintedToken[];
  isValidCloneToken(token: string, fullName: string): boolean;
  /**
   * For the git server's `authorize` option: a repository path like /owner/name.git is readable
   * anonymously when public, and with an installation token covering it (contents:read) otherwise.
   */
  authorizeGit(repoPath: string, token: string | undefined): boolean;
  /** Every request served, in order; `path` includes the query string. */
  requests(): { method: string; path: string; status: number }[];
  violations(): string[];
  /** The next `times` requests whose method matches and whose path (without query) matches get `response`. */
  failNext(match: { method: string; pathPattern: RegExp }, response: InjectedResponse, times?: number): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Internal state

interface InstallationToken {
  kind: "installation";
  token: string;
  installationId: number;
  repositoryIds: number[] | null;
  permissions: Record<string, string>;
  expiresAt: Date;
}

interface UserToken {
  kind: "user";
  token: string;
  userId: number;
  appId: number;
  expiresAt: Date;
}

type Caller =
  { kind: "anonymous" } | { kind: "invalid" } | { kind: "jwt"; token: string } | InstallationToken | UserToken;

interface Reply {
  status: number;
  /** Serialized as JSON (API) unless `raw` is given. */
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

interface Context {
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
  body: Record<string, unknown>;
  caller: Caller;
  /** The operation's documentation page, for error bodies. */
  docs: string;
}

interface Route {
  method: string;
  template: string;
  /** API routes are validated against the OpenAPI description; web routes are github.com pages. */
  api: boolean;
  pattern: RegExp;
  keys: string[];
  handle(ctx: Context): Reply | Promise<Reply>;
}

const GENERIC_DOCS = "https://docs.github.com/rest";
const LEVELS: Record<string, number> = { read: 1, write: 2, admin: 3 };
const DEFAULT_PERMISSIONS = { contents: "read", deployments: "write", metadata: "read" };
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

const randomString = (length: number, alphabet = ALNUM) =>
  Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join("");
const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const slugify = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
const withQuery = (target: string, params: Record<string, string | undefined>) => {
  const url = new URL(target);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return url.toString();
};

export async function startGitHubStandIn(options: StandInOptions = {}): Promise<GitHubStandIn> {
  // Loaded before listening, so no request pays for the ~13 MB description.
  const validator: ResponseValidator = await loadResponseValidator();

  const ids = {
    account: 1_000_000,
    app: 100_000,
    installation: 40_000_000,
    repo: 700_000_000,
    deployment: 2e9,
    status: 5e9,
  };
  const next = (kind: keyof typeof ids) => ++ids[kind];

  const accounts = new Map<string, AccountRecord>(); // by lower-case login: GitHub logins are case-insensitive
  const apps = new Map<number, AppRecord>();
  const installations = new Map<number, InstallationRecord>();
  const repos = new Map<number, RepoRecord>();
  const users = new Map<number, { account: AccountRecord; installationIds: number[] }>();
  const deployments: DeploymentRecord[] = [];
  const installationTokens = new Map<string, InstallationToken>();
  const userTokens = new Map<string, UserToken>();
  const refreshTokens = new Map<string, { userId: number; appId: number; expiresAt: Date }>();
  const manifestCodes = new Map<string, { manifest: Record<string, unknown>; owner: AccountRecord; expiresAt: Date }>();
  const oauthCodes = new Map<string, { appId: number; userId: number; redirectUri?: string; expiresAt: Date }>();
  const rateLimits = new Map<string, { used: number; resetAt: number }>();
  const injected: { method: string; pathPattern: RegExp; response: InjectedResponse; remaining: number }[] = [];
  const served: { method: string; path: string; status: number }[] = [];
  const violations: string[] = [];

  let urls: Urls = { api: "", web: "", clone: "" }; // set once listening

  // -------------------------------------------------------------------------------------------
  // Records

  function account(login: string, type: AccountRecord["type"]): AccountRecord {
    const existing = accounts.get(login.toLowerCase());
    if (existing) return existing;
    const created = { id: next("account"), login, type };
    accounts.set(login.toLowerCase(), created);
    return created;
  }

  function findRepo(owner: string, name: string): RepoRecord | undefined {
    const fullName = `${owner}/${name}`.toLowerCase();
    return [...repos.values()].find((r) => `${r.owner.login}/${r.name}`.toLowerCase() === fullName);
  }

  function repo(owner: AccountRecord, name: string, isPrivate: boolean, defaultBranch: string): RepoRecord {
    const existing = findRepo(owner.login, name);
    if (existing) return existing;
    const created = { id: next("repo"), owner, name, private: isPrivate, defaultBranch, createdAt: new Date() };
    repos.set(created.id, created);
    return created;
  }

  function newApp(input: {
    name: string;
    slug?: string;
    owner: AccountRecord;
    description?: string | null;
    externalUrl?: string;
    permissions?: Record<string, string>;
    events?: string[];
    callbackUrls?: string[];
    setupUrl?: string | null;
    webhookUrl?: string | null;
  }): AppRecord {
    const slug = input.slug ?? slugify(input.name);
    if ([...apps.values()].some((a) => a.slug === slug || a.name === input.name)) {
      throw new Error(`an app named ${input.name} already exists`);
    }
    // GitHub hands out PKCS#1 PEM keys ("BEGIN RSA PRIVATE KEY").
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const id = next("app");
    const record: AppRecord = {
      id,
      slug,
      name: input.name,
      description: input.description ?? null,
      externalUrl: input.externalUrl ?? `https://${slug}.example.com`,
      owner: input.owner,
      bot: account(`${slug}[bot]`, "Bot"),
      clientId: `Iv23li${randomString(14)}`,
      clientSecret: hex(20),
      webhookSecret: hex(20),
      privateKeyPem: privateKey,
      publicKey: createPublicKey(privateKey),
      permissions: { ...(input.permissions ?? DEFAULT_PERMISSIONS), metadata: "read" },
      events: input.events ?? ["push"],
      callbackUrls: input.callbackUrls ?? [],
      setupUrl: input.setupUrl ?? null,
      webhookUrl: input.webhookUrl ?? null,
      createdAt: new Date(),
    };
    apps.set(id, record);
    return record;
  }

  const repoView = (r: RepoRecord): Repo => ({
    id: r.id,
    name: r.name,
    fullName: `${r.owner.login}/${r.name}`,
    private: r.private,
    cloneUrl: `${urls.clone}/${r.owner.login}/${r.name}.git`,
    defaultBranch: r.defaultBranch,
  });
  const appView = (a: AppRecord): App => ({
    id: a.id,
    slug: a.slug,
    name: a.name,
    clientId: a.clientId,
    clientSecret: a.clientSecret,
    webhookSecret: a.webhookSecret,
    privateKeyPem: a.privateKeyPem,
  });
  const appJson = (a: AppRecord) =>
    integration(a, urls, [...installations.values()].filter((i) => i.appId === a.id).length);

  // -------------------------------------------------------------------------------------------
  // Access rules

  function callerOf(req: IncomingMessage): Caller {
    const header = req.headers.authorization;
    if (!header) return { kind: "anonymous" };
    const [scheme = "", value = ""] = header.split(/\s+/, 2);
    let token = value;
    if (scheme.toLowerCase() === "basic") {
      // Git-style: any username, the token as password.
      const decoded = Buffer.from(value, "base64").toString("utf8");
      token = decoded.slice(decoded.indexOf(":") + 1);
    } else if (!["bearer", "token"].includes(scheme.toLowerCase())) {
      return { kind: "invalid" };
    }
    const now = Date.now();
    const installationToken = installationTokens.get(token);
    if (installationToken) return installationToken.expiresAt.getTime() > now ? installationToken : { kind: "invalid" };
    const userToken = userTokens.get(token);
    if (userToken) return userToken.expiresAt.getTime() > now ? userToken : { kind: "invalid" };
    if (token.split(".").length === 3) return { kind: "jwt", token };
    return { kind: "invalid" };
  }

  /** The repositories an installation token reaches now (removals from the installation apply at once). */
  function tokenRepoIds(token: InstallationToken): number[] {
    const inst = installations.get(token.installationId);
    if (!inst) return [];
    return token.repositoryIds
      ? inst.repositoryIds.filter((id) => token.repositoryIds?.includes(id))
      : inst.repositoryIds;
  }

  /** The repositories a user token reaches: those of the token's app installations the user may access. */
  function userRepoIds(token: UserToken): number[] {
    const user = users.get(token.userId);
    return (user?.installationIds ?? [])
      .map((id) => installations.get(id))
      .filter((inst) => inst?.appId === token.appId)
      .flatMap((inst) => inst?.repositoryIds ?? []);
  }

  function covers(caller: Caller, r: RepoRecord): boolean {
    if (caller.kind === "installation") return tokenRepoIds(caller).includes(r.id);
    if (caller.kind === "user") return userRepoIds(caller).includes(r.id);
    return false;
  }

  function permissionsOf(caller: Caller): Record<string, string> {
    if (caller.kind === "installation") return caller.permissions;
    if (caller.kind === "user") return apps.get(caller.appId)?.permissions ?? {};
    return {};
  }

  const allows = (permissions: Record<string, string>, name: string, level: "read" | "write") =>
    (LEVELS[permissions[name] ?? ""] ?? 0) >= (LEVELS[level] ?? 0);

  function repoPermissions(caller: Caller, r: RepoRecord): RepoPermissions | undefined {
    if (!covers(caller, r)) return undefined;
    const push = allows(permissionsOf(caller), "contents", "write");
    return { admin: false, maintain: false, push, triage: push, pull: true };
  }

  function isValidCloneToken(token: string, fullName: string): boolean {
    const record = installationTokens.get(token);
    const [owner = "", name = ""] = fullName.split("/");
    const r = findRepo(owner, name);
    if (!record || !r || record.expiresAt.getTime() <= Date.now()) return false;
    return tokenRepoIds(record).includes(r.id) && allows(record.permissions, "contents", "read");
  }

  // -------------------------------------------------------------------------------------------
  // Replies

  const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({ status, body, headers });
  const error = (status: number, message: string, docs: string, extra: Record<string, unknown> = {}): Reply =>
    json(status, { message, documentation_url: docs, status: String(status), ...extra });
  const notFound = (docs: string) => error(404, "Not Found", docs);
  const badCredentials = () => error(401, "Bad credentials", GENERIC_DOCS);
  const requiresAuth = (docs: string) => error(401, "Requires authentication", docs);
  const notAccessible = (docs: string) => error(403, "Resource not accessible by integration", docs);
  const page = (status: number, text: string): Reply => ({
    status,
    raw: `<!DOCTYPE html><html><body><p>${text}</p></body></html>`,
    headers: { "content-type": "text/html; charset=utf-8" },
  });
  const redirect = (location: string): Reply => ({ status: 302, raw: "", headers: { location } });

  /** GitHub's pagination: per_page (default 30, max 100), page, and a Link header to the others. */
  function paginate<T>(items: T[], url: URL): { items: T[]; headers: Record<string, string> } {
    const perPageParam = Number.parseInt(url.searchParams.get("per_page") ?? "", 10);
    const pageParam = Number.parseInt(url.searchParams.get("page") ?? "", 10);
    const perPage = Number.isNaN(perPageParam) || perPageParam < 1 ? 30 : Math.min(perPageParam, 100);
    const current = Number.isNaN(pageParam) || pageParam < 1 ? 1 : pageParam;
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (n: number, rel: string) => {
      const params = new URLSearchParams(url.searchParams);
      params.set("page", String(n));
      return `<${urls.api}${url.pathname}?${params.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (current > 1) links.push(link(Math.min(current - 1, last), "prev"));
    if (current < last) links.push(link(current + 1, "next"), link(last, "last"));
    if (current > 1) links.push(link(1, "first"));
    return {
      items: items.slice((current - 1) * perPage, current * perPage),
      headers: links.length ? { link: links.join(", ") } : {},
    };
  }

  /** The app a request's JWT authenticates, or GitHub's 401. */
  function requireApp(ctx: Context): AppRecord | Reply {
    const jwt = ctx.caller.kind === "jwt" ? ctx.caller.token : undefined;
    const check = verifyAppJwt(jwt ?? "", (issuer) => {
      const found = [...apps.values()].find((a) => String(a.id) === issuer || a.clientId === issuer);
      return found?.publicKey;
    });
    if (!check.ok) return error(401, check.message, ctx.docs);
    return [...apps.values()].find((a) => String(a.id) === check.issuer || a.clientId === check.issuer) as AppRecord;
  }

  /** A repository the caller may write to with `permission`, or GitHub's refusal. */
  function requireRepoWrite(
    ctx: Context,
    permission: string,
  ): { repo: RepoRecord; creator: AccountRecord; appId: number | null } | Reply {
    const { caller } = ctx;
    if (caller.kind === "invalid" || caller.kind === "jwt") return badCredentials();
    const r = findRepo(ctx.params.owner ?? "", ctx.params.repo ?? "");
    // Private repositories the caller cannot see do not exist, as far as it is told.
    if (!r || (r.private && !covers(caller, r))) return notFound(ctx.docs);
    if (caller.kind === "anonymous") return requiresAuth(ctx.docs);
    if (!covers(caller, r) || !allows(permissionsOf(caller), permission, "write")) return notAccessible(ctx.docs);
    if (caller.kind === "installation") {
      const inst = installations.get(caller.installationId) as InstallationRecord;
      const app = apps.get(inst.appId) as AppRecord;
      return { repo: r, creator: app.bot, appId: app.id };
    }
    const user = users.get(caller.userId);
    return { repo: r, creator: user?.account ?? account("ghost", "User"), appId: caller.appId };
  }

  const isReply = (value: unknown): value is Reply =>
    typeof value === "object" && value !== null && "status" in value && typeof (value as Reply).status === "number";

  async function resolveSha(r: RepoRecord, ref: string): Promise<string | undefined> {
    const bare = options.gitRoot ? join(options.gitRoot, r.owner.login, `${r.name}.git`) : undefined;
    if (bare && existsSync(bare)) {
      if (ref.startsWith("-")) return undefined;
      try {
        const { stdout } = await run("git", ["--git-dir", bare, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
        return stdout.trim();
      } catch {
        return undefined;
      }
    }
    if (/^[0-9a-f]{40}$/i.test(ref)) return ref.toLowerCase();
    return createHash("sha1").update(`${r.owner.login}/${r.name}\0${ref}`).digest("hex");
  }

  const isHttpUrl = (value: string) => {
    try {
      return ["http:", "https:"].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  };

  // -------------------------------------------------------------------------------------------
  // Routes

  const routes: Route[] = [];
  const route = (method: string, template: string, api: boolean, handle: Route["handle"]) => {
    const keys: string[] = [];
    const source = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\w+)\}/g, (_, key: string) => {
      keys.push(key);
      return "([^/]+)";
    });
    routes.push({ method, template, api, pattern: new RegExp(`^${source}$`), keys, handle });
  };

  // 1. The manifest flow's last step: the one-time code from github.com becomes the app and its credentials.
  route("POST", "/app-manifests/{code}/conversions", true, (ctx) => {
    const code = ctx.params.code ?? "";
    const pending = manifestCodes.get(code);
    if (!pending || pending.expiresAt.getTime() <= Date.now()) return notFound(ctx.docs);
    manifestCodes.delete(code); // a code works once
    const m = pending.manifest;
    const name = String(m.name ?? `${pending.owner.login}-app`);
    if ([...apps.values()].some((a) => a.name === name || a.slug === slugify(name))) {
      return json(422, {
        message: "Validation Failed",
        errors: ["Name is already in use"],
        documentation_url: ctx.docs,
      });
    }
    const hook = (m.hook_attributes ?? {}) as { url?: string; active?: boolean };
    const app = newApp({
      name,
      owner: pending.owner,
      description: typeof m.description === "string" ? m.description : null,
      externalUrl: String(m.url),
      permissions: (m.default_permissions as Record<string, string> | undefined) ?? {},
      events: (m.default_events as string[] | undefined) ?? [],
      callbackUrls: Array.isArray(m.callback_urls) ? m.callback_urls.map(String) : [],
      setupUrl: typeof m.setup_url === "string" ? m.setup_url : null,
      webhookUrl: hook.url && hook.active !== false ? hook.url : null,
    });
    return json(201, {
      ...appJson(app),
      client_id: app.clientId,
      client_secret: app.clientSecret,
      webhook_secret: app.webhookSecret,
      pem: app.privateKeyPem,
    });
  });

  // 2.
  route("GET", "/app", true, (ctx) => {
    const app = requireApp(ctx);
    return isReply(app) ? app : json(200, appJson(app));
  });

  // 3.
  route("GET", "/app/installations/{installation_id}", true, (ctx) => {
    const app = requireApp(ctx);
    if (isReply(app)) return app;
    const inst = installations.get(Number(ctx.params.installation_id));
    if (!inst || inst.appId !== app.id) return notFound(ctx.docs);
    return json(200, installationJson(inst, app, urls));
  });

  // 4. Installation tokens, optionally narrowed to some repositories and permissions.
  route("POST", "/app/installations/{installation_id}/access_tokens", true, (ctx) => {
    const app = requireApp(ctx);
    if (isReply(app)) return app;
    const inst = installations.get(Number(ctx.params.installation_id));
    if (!inst || inst.appId !== app.id) return notFound(ctx.docs);
    const { repository_ids: repositoryIds, repositories: names, permissions } = ctx.body;
    const invalid = (field: string, kind: string) =>
      error(
        422,
        `Invalid request.\n\nFor 'properties/${field}', ${JSON.stringify(ctx.body[field])} is not ${kind}.`,
        ctx.docs,
      );
    if (repositoryIds !== undefined && (!Array.isArray(repositoryIds) || !repositoryIds.every(Number.isInteger))) {
      return invalid("repository_ids", "an array of integers");
    }
    if (names !== undefined && (!Array.isArray(names) || !names.every((n) => typeof n === "string"))) {
      return invalid("repositories", "an array of strings");
    }
    if (
      permissions !== undefined &&
      (typeof permissions !== "object" || permissions === null || Array.isArray(permissions))
    ) {
      return invalid("permissions", "an object");
    }

    // Narrowing to repositories: each must be in the installation, by id or by name.
    let selected: number[] | null = null;
    const wantedIds = (repositoryIds ?? []) as number[];
    const wantedNames = (names ?? []) as string[];
    if (wantedIds.length + wantedNames.length > 0) {
      const inInstallation = inst.repositoryIds.map((id) => repos.get(id) as RepoRecord);
      const found = [
        ...wantedIds.map((id) => inInstallation.find((r) => r.id === id)),
        ...wantedNames.map((name) => inInstallation.find((r) => r.name.toLowerCase() === name.toLowerCase())),
      ];
      if (found.some((r) => r === undefined)) {
        return error(
          422,
          "There is at least one repository that does not exist or is not accessible to the parent installation.",
          ctx.docs,
        );
      }
      selected = [...new Set(found.map((r) => (r as RepoRecord).id))];
    }

    const requested = (permissions ?? app.permissions) as Record<string, unknown>;
    for (const [name, level] of Object.entries(requested)) {
      if (typeof level !== "string" || !allows(app.permissions, name, level as "read" | "write")) {
        return error(422, "The permissions requested are not granted to this installation.", ctx.docs);
      }
    }

    const record: InstallationToken = {
      kind: "installation",
      token: `ghs_${randomString(36)}`,
      installationId: inst.id,
      repositoryIds: selected,
      permissions: { ...(requested as Record<string, string>) },
      expiresAt: new Date(Date.now() + 3600_000),
    };
    installationTokens.set(record.token, record);
    return json(201, {
      token: record.token,
      expires_at: timestamp(record.expiresAt),
      permissions: record.permissions,
      repository_selection: selected ? "selected" : inst.repositorySelection,
      ...(selected ? { repositories: selected.map((id) => repositoryJson(repos.get(id) as RepoRecord, urls)) } : {}),
    });
  });

  // 5.
  route("GET", "/installation/repositories", true, (ctx) => {
    const { caller } = ctx;
    if (caller.kind === "anonymous") return requiresAuth(ctx.docs);
    if (caller.kind === "user") {
      return error(
        403,
        "You must authenticate with an installation access token in order to list repositories for an installation.",
        ctx.docs,
      );
    }
    if (caller.kind !== "installation") return badCredentials();
    const inst = installations.get(caller.installationId) as InstallationRecord;
    const all = tokenRepoIds(caller).map((id) => repos.get(id) as RepoRecord);
    const { items, headers } = paginate(all, ctx.url);
    return json(
      200,
      {
        total_count: all.length,
        repository_selection: caller.repositoryIds ? "selected" : inst.repositorySelection,
        repositories: items.map((r) => repositoryJson(r, urls, repoPermissions(caller, r))),
      },
      headers,
    );
  });

  // 6.
  route("GET", "/user/installations", true, (ctx) => {
    const { caller } = ctx;
    if (caller.kind === "anonymous") return requiresAuth(ctx.docs);
    if (caller.kind === "installation") {
      return error(
        403,
        "You must authenticate with an access token authorized to a GitHub App in order to list installations",
        ctx.docs,
      );
    }
    if (caller.kind !== "user") return badCredentials();
    const app = apps.get(caller.appId) as AppRecord;
    const list = (users.get(caller.userId)?.installationIds ?? [])
      .map((id) => installations.get(id))
      .filter((inst): inst is InstallationRecord => inst?.appId === app.id);
    const { items, headers } = paginate(list, ctx.url);
    return json(
      200,
      { total_count: list.length, installations: items.map((inst) => installationJson(inst, app, urls)) },
      headers,
    );
  });

  // 7.
  route("GET", "/repos/{owner}/{repo}", true, (ctx) => {
    const { caller } = ctx;
    if (caller.kind === "invalid" || caller.kind === "jwt") return badCredentials();
    const r = findRepo(ctx.params.owner ?? "", ctx.params.repo ?? "");
    if (!r || (r.private && !covers(caller, r))) return notFound(ctx.docs);
    return json(200, fullRepository(r, urls, repoPermissions(caller, r)));
  });

  // 8.
  route("POST", "/repos/{owner}/{repo}/deployments", true, async (ctx) => {
    const access = requireRepoWrite(ctx, "deployments");
    if (isReply(access)) return access;
    const { ref, task, environment, description, payload } = ctx.body;
    if (typeof ref !== "string" || ref === "")
      return error(422, 'Invalid request.\n\n"ref" wasn\'t supplied.', ctx.docs);
    if (environment !== undefined && typeof environment !== "string") {
      return error(
        422,
        `Invalid request.\n\nFor 'properties/environment', ${JSON.stringify(environment)} is not a string.`,
        ctx.docs,
      );
    }
    if (
      payload !== undefined &&
      typeof payload !== "string" &&
      (typeof payload !== "object" || payload === null || Array.isArray(payload))
    ) {
      return error(
        422,
        `Invalid request.\n\nFor 'properties/payload', ${JSON.stringify(payload)} is not an object or a string.`,
        ctx.docs,
      );
    }
    const sha = await resolveSha(access.repo, ref);
    if (!sha) return error(422, `No ref found for: ${ref}`, ctx.docs);
    const env = environment ?? "production";
    const now = new Date();
    const record: DeploymentRecord = {
      id: next("deployment"),
      repoId: access.repo.id,
      ref,
      sha,
      task: typeof task === "string" ? task : "deploy",
      environment: env,
      originalEnvironment: env,
      description: typeof description === "string" ? description : null,
      payload: parsePayload(payload),
      transientEnvironment: ctx.body.transient_environment === true,
      productionEnvironment:
        typeof ctx.body.production_environment === "boolean" ? ctx.body.production_environment : env === "production",
      creator: access.creator,
      appId: access.appId,
      createdAt: now,
      updatedAt: now,
      statuses: [],
    };
    deployments.push(record);
    const body = deploymentJson(record, access.repo, urls, appJsonOrNull(record.appId));
    return json(201, body, { location: body.url });
  });

  // 9.
  route("POST", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", true, (ctx) => {
    const access = requireRepoWrite(ctx, "deployments");
    if (isReply(access)) return access;
    const target = deployments.find((d) => d.id === Number(ctx.params.deployment_id) && d.repoId === access.repo.id);
    if (!target) return notFound(ctx.docs);
    const states = ["error", "failure", "inactive", "in_progress", "queued", "pending", "success"];
    const body = ctx.body;
    const fieldError = (field: string, code: string, message?: string) =>
      error(422, "Validation Failed", ctx.docs, {
        errors: [{ resource: "DeploymentStatus", code, field, ...(message ? { message } : {}) }],
      });
    if (typeof body.state !== "string" || !states.includes(body.state)) return fieldError("state", "invalid");
    const text = (field: string) => (typeof body[field] === "string" ? (body[field] as string) : "");
    for (const field of ["log_url", "target_url", "environment_url"]) {
      if (text(field) && !isHttpUrl(text(field))) {
        return fieldError(field, "custom", `${field} must use an http or https scheme`);
      }
    }
    if (text("description").length > 140) {
      return fieldError("description", "custom", "description is too long (maximum is 140 characters)");
    }
    // GitHub: log_url replaces target_url, and setting either sets both.
    const logUrl = text("log_url") || text("target_url");
    const environment = text("environment") || target.environment;
    const now = new Date();
    const status: StatusRecord = {
      id: next("status"),
      state: body.state,
      description: text("description"),
      environment,
      targetUrl: logUrl,
      logUrl,
      environmentUrl: text("environment_url"),
      creator: access.creator,
      appId: access.appId,
      createdAt: now,
    };
    target.statuses.push(status);
    target.environment = environment;
    target.updatedAt = now;
    // GitHub's auto_inactive (default true): a success retires earlier successful deployments of
    // the same environment with an `inactive` status — but, as documented, only non-transient,
    // non-production ones.
    if (status.state === "success" && body.auto_inactive !== false) {
      for (const other of deployments) {
        if (other.repoId !== target.repoId || other.id >= target.id || other.environment !== environment) continue;
        if (other.productionEnvironment || other.transientEnvironment) continue;
        if (other.statuses.at(-1)?.state !== "success") continue;
        other.statuses.push({
          ...status,
          id: next("status"),
          state: "inactive",
          description: "",
          environmentUrl: "",
          targetUrl: "",
          logUrl: "",
        });
        other.updatedAt = now;
      }
    }
    const reply = deploymentStatusJson(status, target, access.repo, urls, appJsonOrNull(status.appId));
    return json(201, reply, { location: reply.url });
  });

  function appJsonOrNull(appId: number | null) {
    const app = appId === null ? undefined : apps.get(appId);
    return app ? appJson(app) : null;
  }

  // 10. github.com: registering an app from a manifest; we play the user clicking "Create GitHub App".
  const manifestFlow = (ctx: Context, owner: AccountRecord): Reply => {
    let manifest: Record<string, unknown>;
    try {
      manifest = JSON.parse(String(ctx.body.manifest ?? "")) as Record<string, unknown>;
    } catch {
      return page(422, "Invalid GitHub App configuration: the manifest is not valid JSON.");
    }
    if (typeof manifest.url !== "string") return page(422, "Invalid GitHub App configuration: url is required.");
    if (typeof manifest.redirect_url !== "string") {
      return page(422, "Invalid GitHub App configuration: redirect_url is required.");
    }
    const code = hex(20);
    manifestCodes.set(code, { manifest, owner, expiresAt: new Date(Date.now() + 3600_000) });
    return redirect(withQuery(manifest.redirect_url, { code, state: ctx.url.searchParams.get("state") ?? undefined }));
  };
  route("POST", "/settings/apps/new", false, (ctx) => {
    const signedIn = signedInUser(ctx.url);
    return manifestFlow(ctx, signedIn?.account ?? account("slipway-dev", "User"));
  });
  route("POST", "/organizations/{org}/settings/apps/new", false, (ctx) =>
    manifestFlow(ctx, account(ctx.params.org ?? "", "Organization")),
  );

  /** The github.com user "signed in" for web flows: ?login=, else the first user added. */
  function signedInUser(url: URL) {
    const login = url.searchParams.get("login")?.toLowerCase();
    return [...users.values()].find((u) => login === undefined || u.account.login.toLowerCase() === login);
  }

  // 11. github.com: user authorization of a GitHub App; we play the user clicking "Authorize".
  route("GET", "/login/oauth/authorize", false, (ctx) => {
    const clientId = ctx.url.searchParams.get("client_id");
    const app = [...apps.values()].find((a) => a.clientId === clientId);
    if (!app) return page(404, "Not Found: no application with that client_id.");
    const user = signedInUser(ctx.url);
    if (!user) return page(401, "Sign in to GitHub: no user is signed in (add one with addUser).");
    const state = ctx.url.searchParams.get("state") ?? undefined;
    const redirectUri = ctx.url.searchParams.get("redirect_uri") ?? undefined;
    const registered = app.callbackUrls;
    if (redirectUri && registered.length && !registered.some((cb) => underCallback(redirectUri, cb))) {
      return redirect(
        withQuery(registered[0] as string, {
          error: "redirect_uri_mismatch",
          error_description: "The redirect_uri MUST match the registered callback URL for this application.",
          error_uri:
            "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch",
          state,
        }),
      );
    }
    const target = redirectUri ?? registered[0] ?? app.setupUrl;
    if (!target) return page(400, "The application has no callback URL and no redirect_uri was given.");
    const code = hex(10);
    oauthCodes.set(code, {
      appId: app.id,
      userId: user.account.id,
      redirectUri,
      expiresAt: new Date(Date.now() + 600_000),
    });
    return redirect(withQuery(target, { code, state }));
  });

  // 12. github.com: exchanging the code (or a refresh token) for a user access token.
  route("POST", "/login/oauth/access_token", false, (ctx) => {
    const p = (key: string) => (ctx.body[key] === undefined ? undefined : String(ctx.body[key]));
    const wantsJson = (ctx.req.headers.accept ?? "").includes("application/json");
    const answer = (fields: Record<string, string | number>): Reply =>
      wantsJson
        ? { status: 200, body: fields, headers: { "content-type": "application/json; charset=utf-8" } }
        : {
            status: 200,
            raw: new URLSearchParams(
              Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)]),
            ).toString(),
            headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
          };
    const failure = (code: string, description: string, anchor: string) =>
      answer({
        error: code,
        error_description: description,
        error_uri: `https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#${anchor}`,
      });
    const app = [...apps.values()].find((a) => a.clientId === p("client_id"));
    if (!app || app.clientSecret !== p("client_secret")) {
      return failure(
        "incorrect_client_credentials",
        "The client_id and/or client_secret passed are incorrect.",
        "incorrect-client-credentials",
      );
    }
    let userId: number;
    if (p("grant_type") === "refresh_token") {
      const refresh = refreshTokens.get(p("refresh_token") ?? "");
      if (!refresh || refresh.appId !== app.id || refresh.expiresAt.getTime() <= Date.now()) {
        return failure("bad_refresh_token", "The refresh token passed is incorrect or expired.", "bad-refresh-token");
      }
      refreshTokens.delete(p("refresh_token") ?? "");
      userId = refresh.userId;
    } else {
      const code = oauthCodes.get(p("code") ?? "");
      if (!code || code.appId !== app.id || code.expiresAt.getTime() <= Date.now()) {
        return failure("bad_verification_code", "The code passed is incorrect or expired.", "bad-verification-code");
      }
      if (p("redirect_uri") && code.redirectUri && p("redirect_uri") !== code.redirectUri) {
        return failure(
          "redirect_uri_mismatch",
          "The redirect_uri MUST match the registered callback URL for this application.",
          "redirect-uri-mismatch",
        );
      }
      oauthCodes.delete(p("code") ?? ""); // a code works once
      userId = code.userId;
    }
    // GitHub App user tokens expire after 8 hours; refresh tokens after 6 months.
    const token: UserToken = {
      kind: "user",
      token: `ghu_${randomString(36)}`,
      userId,
      appId: app.id,
      expiresAt: new Date(Date.now() + 28_800_000),
    };
    userTokens.set(token.token, token);
    const refreshToken = `ghr_${randomString(76)}`;
    refreshTokens.set(refreshToken, { userId, appId: app.id, expiresAt: new Date(Date.now() + 15_897_600_000) });
    return answer({
      access_token: token.token,
      expires_in: 28800,
      refresh_token: refreshToken,
      refresh_token_expires_in: 15897600,
      scope: "",
      token_type: "bearer",
    });
  });

  // -------------------------------------------------------------------------------------------
  // Serving

  /** GitHub's rate-limit headers, counted per token owner (not enforced: use failNext for that). */
  function rateLimitHeaders(caller: Caller): Record<string, string> {
    let key = "anonymous";
    if (caller.kind === "installation") key = `installation:${caller.installationId}`;
    else if (caller.kind === "user") key = `user:${caller.userId}`;
    else if (caller.kind === "jwt") key = `app:${caller.token.split(".")[1]}`;
    const limit = key === "anonymous" ? 60 : 5000;
    const now = Math.floor(Date.now() / 1000);
    let window = rateLimits.get(key);
    if (!window || window.resetAt <= now) {
      window = { used: 0, resetAt: now + 3600 };
      rateLimits.set(key, window);
    }
    window.used += 1;
    return {
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": String(Math.max(0, limit - window.used)),
      "x-ratelimit-reset": String(window.resetAt),
      "x-ratelimit-used": String(window.used),
      "x-ratelimit-resource": "core",
    };
  }

  const requestId = () => [hex(2), hex(3), hex(4), hex(4), hex(4)].join(":").toUpperCase();

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", urls.api);
    const raw = await readBody(req);
    const caller = callerOf(req);
    const apiHeaders = () => ({
      "content-type": "application/json; charset=utf-8",
      "x-github-media-type": "github.v3; format=json",
      "x-github-api-version-selected": "2022-11-28",
      "x-github-request-id": requestId(),
      ...rateLimitHeaders(caller),
    });
    const send = (status: number, headers: Record<string, string>, body: string) => {
      res.writeHead(status, { ...headers, "content-length": String(Buffer.byteLength(body)) });
      res.end(body);
      served.push({ method, path: req.url ?? "/", status });
    };

    // Failure injection comes first: it stands for GitHub refusing before doing anything.
    const rule = injected.find((r) => r.method.toUpperCase() === method && testPattern(r.pathPattern, url.pathname));
    if (rule) {
      rule.remaining -= 1;
      if (rule.remaining <= 0) injected.splice(injected.indexOf(rule), 1);
      const { status, headers = {}, body } = rule.response;
      send(status, { ...apiHeaders(), ...headers }, body === undefined ? "" : JSON.stringify(body));
      return;
    }

    let match: { route: Route; params: Record<string, string> } | undefined;
    for (const candidate of routes) {
      const found = candidate.method === method ? candidate.pattern.exec(url.pathname) : null;
      if (!found) continue;
      const params = Object.fromEntries(candidate.keys.map((key, i) => [key, decodeURIComponent(found[i + 1] ?? "")]));
      match = { route: candidate, params };
      break;
    }
    if (!match) {
      send(404, apiHeaders(), JSON.stringify({ message: "Not Found", documentation_url: GENERIC_DOCS, status: "404" }));
      return;
    }
    const { route: r, params } = match;
    const docs = r.api ? (validator.documentationUrl(method, r.template) ?? GENERIC_DOCS) : GENERIC_DOCS;

    let reply: Reply;
    const body = parseBody(raw, req.headers["content-type"], r.api);
    if (body === undefined) {
      reply = error(400, "Problems parsing JSON", docs);
    } else {
      try {
        reply = await r.handle({ req, url, params, body, caller, docs });
      } catch (err) {
        violations.push(`${method} ${r.template}: the stand-in failed: ${(err as Error).stack ?? String(err)}`);
        reply = error(500, "Server Error", GENERIC_DOCS);
      }
    }

    if (r.api && reply.raw === undefined) {
      const violation = validator.validate(method, r.template, reply.status, reply.body);
      if (violation) violations.push(violation);
    }
    const headers = r.api ? { ...apiHeaders(), ...reply.headers } : { ...reply.headers };
    send(reply.status, headers, reply.raw ?? (reply.body === undefined ? "" : JSON.stringify(reply.body)));
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      violations.push(`the stand-in failed: ${String(err)}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  urls = { api: base, web: base, clone: (options.cloneBaseUrl ?? `${base}/git`).replace(/\/+$/, "") };

  // -------------------------------------------------------------------------------------------
  // The handle tests hold

  const standIn: GitHubStandIn = {
    url: base,
    createApp(input = {}) {
      const name = input.name ?? input.slug ?? `Slipway Test ${apps.size + 1}`;
      const owner = input.owner ?? { login: "slipway-apps", type: "Organization" as const };
      return appView(
        newApp({
          name,
          slug: input.slug,
          owner: account(owner.login, owner.type),
          permissions: input.permissions,
          events: input.events,
          callbackUrls: input.callbackUrls,
          setupUrl: input.setupUrl,
          webhookUrl: input.webhookUrl,
        }),
      );
    },
    addInstallation(input) {
      if (!apps.has(input.appId)) throw new Error(`no app ${input.appId}`);
      const owner = account(input.account.login, input.account.type);
      const record: InstallationRecord = {
        id: next("installation"),
        appId: input.appId,
        account: owner,
        repositorySelection: input.repositorySelection ?? "selected",
        repositoryIds: input.repositories.map(
          (r) => repo(owner, r.name, r.private ?? false, r.defaultBranch ?? "main").id,
        ),
        createdAt: new Date(),
      };
      installations.set(record.id, record);
      return installationView(record);
    },
    addRepository(input) {
      if (findRepo(input.owner, input.name)) throw new Error(`${input.owner}/${input.name} already exists`);
      return repoView(
        repo(account(input.owner, "User"), input.name, input.private ?? false, input.defaultBranch ?? "main"),
      );
    },
    addUser(input) {
      for (const id of input.installationIds) if (!installations.has(id)) throw new Error(`no installation ${id}`);
      const user = account(input.login, "User");
      users.set(user.id, { account: user, installationIds: [...input.installationIds] });
      return { id: user.id, login: user.login };
    },
    removeRepositoryFromInstallation(installationId, repoId) {
      const inst = installations.get(installationId);
      if (!inst?.repositoryIds.includes(repoId))
        throw new Error(`repository ${repoId} is not in installation ${installationId}`);
      inst.repositoryIds = inst.repositoryIds.filter((id) => id !== repoId);
      inst.repositorySelection = "selected"; // as on GitHub, deselecting one repository turns "all" into "selected"
    },
    apps: () => [...apps.values()].map(appView),
    deployments(fullName) {
      const [owner = "", name = ""] = fullName.split("/");
      const r = findRepo(owner, name);
      return deployments
        .filter((d) => d.repoId === r?.id)
        .map((d) => ({
          id: d.id,
          ref: d.ref,
          sha: d.sha,
          environment: d.environment,
          payload: d.payload,
          statuses: d.statuses.map((s) => ({
            state: s.state,
            ...(s.logUrl ? { log_url: s.logUrl } : {}),
            ...(s.environmentUrl ? { environment_url: s.environmentUrl } : {}),
            ...(s.description ? { description: s.description } : {}),
          })),
        }));
    },
    mintedTokens: () =>
      [...installationTokens.values()].map((t) => ({
        token: t.token,
        installationId: t.installationId,
        repositoryIds: t.repositoryIds ? [...t.repositoryIds] : null,
        permissions: { ...t.permissions },
        expiresAt: timestamp(t.expiresAt),
      })),
    isValidCloneToken,
    authorizeGit(repoPath, token) {
      const [owner = "", name = ""] = repoPath
        .replace(/\.git\/?$/, "")
        .split("/")
        .filter(Boolean)
        .slice(-2);
      const r = findRepo(owner, name);
      if (!r) return false;
      if (token === undefined) return !r.private;
      return isValidCloneToken(token, `${r.owner.login}/${r.name}`);
    },
    requests: () => served.map((entry) => ({ ...entry })),
    violations: () => [...violations],
    failNext(match, response, times = 1) {
      injected.push({ method: match.method, pathPattern: match.pathPattern, response, remaining: times });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  function installationView(record: InstallationRecord): Installation {
    return {
      id: record.id,
      appId: record.appId,
      account: { login: record.account.login, type: record.account.type === "Organization" ? "Organization" : "User" },
      repositories: record.repositoryIds.map((id) => repoView(repos.get(id) as RepoRecord)),
    };
  }

  return standIn;
}

// ---------------------------------------------------------------------------------------------
// Helpers

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * The API reads JSON whatever the content type (as GitHub does); github.com's forms are
 * form-encoded unless sent as JSON. Undefined when a JSON body does not parse (GitHub's 400).
 */
function parseBody(raw: string, contentType: string | undefined, api: boolean): Record<string, unknown> | undefined {
  if (raw.trim() === "") return {};
  if (!api && !(contentType ?? "").includes("json")) return Object.fromEntries(new URLSearchParams(raw));
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return undefined;
  }
}

/** A deployment payload as GitHub stores it: JSON objects (also given as a JSON string) as objects. */
function parsePayload(payload: unknown): unknown {
  if (payload === undefined) return {};
  if (typeof payload !== "string") return payload;
  try {
    const parsed: unknown = JSON.parse(payload);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? parsed : payload;
  } catch {
    return payload;
  }
}

function testPattern(pattern: RegExp, path: string): boolean {
  pattern.lastIndex = 0; // a /g or /y pattern would otherwise remember where it stopped
  return pattern.test(path);
}

const underCallback = (uri: string, callback: string) => {
  try {
    const a = new URL(uri);
    const b = new URL(callback);
    return a.origin === b.origin && a.pathname.startsWith(b.pathname);
  } catch {
    return false;
  }
};
