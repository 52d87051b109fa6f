// The browser flows of the GitHub App, all behind a signed-in session:
//  - create the app from a manifest (GitHub → our callback → credentials sealed in the database);
//  - after an installation, GitHub sends the user to our setup URL; we bind the installation to
//    the user's organisation only once GitHub confirms (user authorization) that this GitHub user
//    can access it. An installation id alone binds nothing.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { sql } from "kysely";
import { Type } from "typebox";
import type { Db } from "../db/database.js";
import { audit } from "../audit/audit-log.js";
import { HttpError } from "../http/errors.js";
import type { GitHubAppStore } from "./app-credentials.js";
import { appManifest, manifestFormPage } from "./app-manifest.js";
import type { GitHubApi } from "./github-api.js";
import { upsertRepositories } from "./installation-events.js";
import { consumeState, createState } from "./oauth-states.js";
import { TEXT_PATTERN } from "../patterns.js";

export interface SetupRouteOptions {
  db: Db;
  store: GitHubAppStore;
  api: GitHubApi;
  publicUrl: string;
  githubWebUrl: string;
}

const code = Type.String({ minLength: 1, maxLength: 512, pattern: "^[A-Za-z0-9_.-]+$" });
const state = Type.String({ minLength: 1, maxLength: 256, pattern: "^[A-Za-z0-9_-]+$" });

export const githubSetupRoutes: FastifyPluginAsyncTypebox<SetupRouteOptions> = async (
  app,
  { db, store, api, publicUrl, githubWebUrl },
) => {
  const base = publicUrl.replace(/\/$/, "");
  const web = githubWebUrl.replace(/\/$/, "");

  app.get(
    "/github/app/manifest",
    {
      config: { access: "admin" },
      schema: {
        tags: ["github"],
        querystring: Type.Object({
          organization: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9-]{1,39}$" })),
          name: Type.Optional(Type.String({ minLength: 1, maxLength: 34, pattern: TEXT_PATTERN })),
        }),
      },
    },
    async (request, reply) => {
      const { organization, name } = request.query;
      const stateValue = await createState(db, "manifest", request.actor);
      const path = organization ? `/organizations/${organization}/settings/apps/new` : "/settings/apps/new";
      const action = `${web}${path}?state=${stateValue}`;
      return reply
        .type("text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .send(manifestFormPage(action, appManifest(base, name ?? "Slipway")));
    },
  );

  app.get(
    "/github/app/callback",
    { config: { access: "admin" }, schema: { tags: ["github"], querystring: Type.Object({ code, state }) } },
    async (request, reply) => {
      // Checked before the one-time code is spent: GitHub hands the app's key over only once.
      await consumeState(db, "manifest", request.actor, request.query.state);
      const conversion = await api.convertManifest(request.query.code);
      await store.saveFromManifest(conversion, request.actor.label);
      await db
        .transaction()
        .execute((trx) =>
          audit(trx, request.actor, "github.app.create", `github_app:${conversion.id}`, { slug: conversion.slug }),
        );
      request.log.info({ appId: conversion.id, slug: conversion.slug }, "GitHub App created from manifest");
      // Next step for the user: install the app on their account or organisation.
      return reply.redirect(`${conversion.html_url.replace(/\/$/, "")}/installations/new`, 303);
    },
  );

  app.get(
    "/github/setup",
    {
      config: { access: "admin" },
      schema: {
        tags: ["github"],
        querystring: Type.Object({
          installation_id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
          setup_action: Type.Optional(Type.String({ pattern: "^[a-z_]{1,32}$" })),
        }),
      },
    },
    async (request, reply) => {
      const credentials = await store.credentials();
      if (!credentials?.clientId || !credentials.clientSecret) {
        throw new HttpError(
          409,
          "the GitHub App's client id and secret are not configured; set GITHUB_APP_CLIENT_ID and GITHUB_APP_CLIENT_SECRET, or create the app from Slipway",
        );
      }
      const stateValue = await createState(db, "install", request.actor, {
        installationId: request.query.installation_id,
      });
      const authorize = new URL(`${web}/login/oauth/authorize`);
      authorize.searchParams.set("client_id", credentials.clientId);
      authorize.searchParams.set("state", stateValue);
      authorize.searchParams.set("redirect_uri", `${base}/api/github/oauth/callback`);
      return reply.redirect(authorize.toString(), 303);
    },
  );

  app.get(
    "/github/oauth/callback",
    { config: { access: "admin" }, schema: { tags: ["github"], querystring: Type.Object({ code, state }) } },
    async (request, reply) => {
      const data = await consumeState(db, "install", request.actor, request.query.state);
      const installationId = Number(data.installationId);
      const userToken = await api.exchangeUserCode(request.query.code);
      const reachable = await api.userInstallationIds(userToken);
      if (!reachable.includes(installationId)) {
        throw new HttpError(
          403,
          `your GitHub account cannot access installation ${installationId}; nothing was connected`,
        );
      }
      const installation = await api.installation(installationId);
      const repositories = await api.installationRepositories(installationId);
      await db.transaction().execute(async (trx) => {
        const bound = await trx
          .insertInto("github_installations")
          .values({
            id: installationId,
            org_id: request.actor.orgId,
            account_login: installation.accountLogin,
            account_type: installation.accountType,
            app_id: null,
            repository_selection: installation.repositorySelection,
            permissions: JSON.stringify(installation.permissions),
            suspended_at: installation.suspended ? sql<Date>`now()` : null,
            deleted_at: null,
          })
          .onConflict((oc) =>
            oc
              .column("id")
              .doUpdateSet({
                org_id: request.actor.orgId,
                account_login: installation.accountLogin,
                repository_selection: installation.repositorySelection,
                permissions: JSON.stringify(installation.permissions),
                deleted_at: null,
                updated_at: sql<Date>`now()`,
              })
              // An installation another organisation already claimed stays theirs.
              .where((eb) =>
                eb.or([
                  eb("github_installations.org_id", "is", null),
                  eb("github_installations.org_id", "=", request.actor.orgId),
                ]),
              ),
          )
          .returning("id")
          .executeTakeFirst();
        if (!bound)
          throw new HttpError(409, `installation ${installationId} is connected to another Slipway organisation`);
        await upsertRepositories(trx, installationId, repositories);
        await audit(trx, request.actor, "github.installation.bind", `github_installation:${installationId}`, {
          account: installation.accountLogin,
          repositories: repositories.length,
        });
      });
      return reply.redirect(`${base}/?github_installation=${installationId}`, 303);
    },
  );

  app.get(
    "/github/repositories",
    {
      config: { access: "developer" },
      schema: {
        tags: ["github"],
        querystring: Type.Object({
          search: Type.Optional(Type.String({ maxLength: 100, pattern: TEXT_PATTERN })),
          page: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
          perPage: Type.Integer({ minimum: 1, maximum: 100, default: 30 }),
        }),
        response: {
          200: Type.Object({
            total: Type.Integer(),
            page: Type.Integer(),
            perPage: Type.Integer(),
            repositories: Type.Array(
              Type.Object({
                id: Type.Integer(),
                fullName: Type.String(),
                private: Type.Boolean(),
                defaultBranch: Type.Union([Type.String(), Type.Null()]),
                installationId: Type.Integer(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const { search, page, perPage } = request.query;
      let query = db
        .selectFrom("github_repos")
        .innerJoin("github_installations", "github_installations.id", "github_repos.installation_id")
        .where("github_installations.org_id", "=", request.actor.orgId)
        .where("github_installations.deleted_at", "is", null)
        .where("github_installations.suspended_at", "is", null)
        .where("github_repos.removed_at", "is", null);
      if (search) {
        const escaped = search.replace(/[\\%_]/g, (c) => `\\${c}`);
        query = query.where(sql<boolean>`github_repos.full_name ILIKE ${`%${escaped}%`}`);
      }
      const { total } = await query.select((eb) => eb.fn.countAll<string>().as("total")).executeTakeFirstOrThrow();
      const rows = await query
        .select([
          "github_repos.id",
          "github_repos.full_name",
          "github_repos.private",
          "github_repos.default_branch",
          "github_repos.installation_id",
        ])
        .orderBy(sql`lower(github_repos.full_name)`)
        .limit(perPage)
        .offset((page - 1) * perPage)
        .execute();
      return {
        total: Number(total),
        page,
        perPage,
        repositories: rows.map((r) => ({
          id: Number(r.id),
          fullName: r.full_name,
          private: r.private,
          defaultBranch: r.default_branch,
          installationId: Number(r.installation_id),
        })),
      };
    },
  );
};
