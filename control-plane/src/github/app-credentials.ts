// Where the GitHub App's credentials come from: the environment (GITHUB_APP_*), or the row the
// manifest flow stored, sealed with SLIPWAY_SECRET_KEY. Reads are cached briefly because every
// webhook needs the webhook secret.
import type { Config } from "../config.js";
import type { Db } from "../db/database.js";
import { secretBoxOf, type SecretBox } from "../crypto/secret-box.js";

export interface AppCredentials {
  appId: number;
  privateKey: string;
  clientId: string | undefined;
  clientSecret: string | undefined;
  slug: string | undefined;
  source: "environment" | "database";
}

export interface ManifestConversion {
  id: number;
  slug: string;
  name: string;
  owner: { login: string } | null;
  client_id: string;
  client_secret: string;
  webhook_secret: string | null;
  pem: string;
  html_url: string;
}

type GitHubConfig = Pick<
  Config,
  | "GITHUB_APP_ID"
  | "GITHUB_APP_PRIVATE_KEY"
  | "GITHUB_APP_CLIENT_ID"
  | "GITHUB_APP_CLIENT_SECRET"
  | "GITHUB_WEBHOOK_SECRET"
  | "SLIPWAY_SECRET_KEY"
  | "SLIPWAY_SECRET_KEY_PREVIOUS"
>;

const CACHE_MS = 10_000;

interface Snapshot {
  at: number;
  credentials: AppCredentials | undefined;
  webhookSecrets: string[];
}

export class GitHubAppStore {
  private snapshot: Snapshot | undefined;
  private loading: Promise<Snapshot> | undefined;
  private readonly box: SecretBox;

  constructor(
    private readonly db: Db,
    private readonly config: GitHubConfig,
  ) {
    this.box = secretBoxOf(config);
  }

  /** The app to act as, or undefined when none is configured yet. */
  async credentials(): Promise<AppCredentials | undefined> {
    return (await this.load()).credentials;
  }

  /** Every secret a webhook may be signed with (environment and stored app). */
  async webhookSecrets(): Promise<string[]> {
    return (await this.load()).webhookSecrets;
  }

  /** Stores the app GitHub created from our manifest. */
  async saveFromManifest(conversion: ManifestConversion, createdBy: string): Promise<void> {
    const box = this.box;
    await this.db
      .insertInto("github_apps")
      .values({
        id: conversion.id,
        slug: conversion.slug,
        name: conversion.name,
        owner_login: conversion.owner?.login ?? "",
        client_id: conversion.client_id,
        client_secret_enc: box.seal(conversion.client_secret),
        webhook_secret_enc: box.seal(conversion.webhook_secret ?? ""),
        private_key_enc: box.seal(conversion.pem),
        html_url: conversion.html_url,
        created_by: createdBy,
      })
      .onConflict((oc) =>
        oc.column("id").doUpdateSet((eb) => ({
          slug: eb.ref("excluded.slug"),
          name: eb.ref("excluded.name"),
          client_id: eb.ref("excluded.client_id"),
          client_secret_enc: eb.ref("excluded.client_secret_enc"),
          webhook_secret_enc: eb.ref("excluded.webhook_secret_enc"),
          private_key_enc: eb.ref("excluded.private_key_enc"),
        })),
      )
      .execute();
    this.snapshot = undefined;
  }

  private async load(): Promise<Snapshot> {
    if (this.snapshot && Date.now() - this.snapshot.at < CACHE_MS) return this.snapshot;
    this.loading ??= this.read().finally(() => (this.loading = undefined));
    this.snapshot = await this.loading;
    return this.snapshot;
  }

  private async read(): Promise<Snapshot> {
    const webhookSecrets = this.config.GITHUB_WEBHOOK_SECRET ? [this.config.GITHUB_WEBHOOK_SECRET] : [];
    let credentials: AppCredentials | undefined;
    if (this.config.GITHUB_APP_ID && this.config.GITHUB_APP_PRIVATE_KEY) {
      credentials = {
        appId: this.config.GITHUB_APP_ID,
        privateKey: this.config.GITHUB_APP_PRIVATE_KEY,
        clientId: this.config.GITHUB_APP_CLIENT_ID,
        clientSecret: this.config.GITHUB_APP_CLIENT_SECRET,
        slug: undefined,
        source: "environment",
      };
    }
    const row = await this.db
      .selectFrom("github_apps")
      .selectAll()
      .orderBy("created_at", "desc")
      .limit(1)
      .executeTakeFirst();
    if (row) {
      const webhookSecret = this.box.open(row.webhook_secret_enc);
      if (webhookSecret) webhookSecrets.push(webhookSecret);
      credentials ??= {
        appId: Number(row.id),
        privateKey: this.box.open(row.private_key_enc),
        clientId: row.client_id,
        clientSecret: this.box.open(row.client_secret_enc),
        slug: row.slug,
        source: "database",
      };
    }
    return { at: Date.now(), credentials, webhookSecrets };
  }
}
