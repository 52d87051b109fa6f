// `installation` and `installation_repositories` webhooks keep github_installations and
// github_repos true. Each delivery is applied in one transaction with its delivery record, so a
// redelivery changes nothing.
import { sql, type Transaction } from "kysely";
import { z } from "zod";
import type { Db } from "../db/database.js";
import type { Database } from "../db/schema.js";
import { recordDelivery } from "./deliveries.js";
import { PayloadError } from "./push-event.js";

const repository = z.object({
  id: z.number().int().positive(),
  name: z.string(),
  full_name: z.string(),
  private: z.boolean(),
});

const installation = z.object({
  id: z.number().int().positive(),
  app_id: z.number().int().optional(),
  account: z
    .object({ login: z.string().optional(), slug: z.string().optional(), type: z.string().optional() })
    .nullable(),
  repository_selection: z.enum(["all", "selected"]).optional(),
  permissions: z.record(z.string(), z.string()).optional(),
});

const installationEvent = z.object({
  action: z.string(),
  installation,
  repositories: z.array(repository).optional(),
});

const installationRepositoriesEvent = z.object({
  action: z.enum(["added", "removed"]),
  installation,
  repository_selection: z.enum(["all", "selected"]).optional(),
  repositories_added: z.array(repository),
  repositories_removed: z.array(repository),
});

function parse<T>(schema: z.ZodType<T>, payload: unknown, event: string): T {
  const result = schema.safeParse(payload);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new PayloadError(`${event} payload: ${issue?.path.join(".") || "body"} ${issue?.message ?? "is invalid"}`);
}

type Installation = z.infer<typeof installation>;
type Repository = z.infer<typeof repository>;

async function upsertInstallation(trx: Transaction<Database>, i: Installation): Promise<void> {
  await trx
    .insertInto("github_installations")
    .values({
      id: i.id,
      org_id: null,
      account_login: i.account?.login ?? i.account?.slug ?? "",
      account_type: i.account?.type ?? "User",
      app_id: i.app_id ?? null,
      repository_selection: i.repository_selection ?? "selected",
      permissions: JSON.stringify(i.permissions ?? {}),
      suspended_at: null,
      deleted_at: null,
    })
    .onConflict((oc) =>
      oc.column("id").doUpdateSet((eb) => ({
        account_login: eb.ref("excluded.account_login"),
        account_type: eb.ref("excluded.account_type"),
        app_id: eb.ref("excluded.app_id"),
        repository_selection: eb.ref("excluded.repository_selection"),
        permissions: eb.ref("excluded.permissions"),
        updated_at: sql<Date>`now()`,
      })),
    )
    .execute();
}

/** Records repositories as reachable through an installation (again, if they had left it). */
export async function upsertRepositories(
  trx: Transaction<Database>,
  installationId: number,
  repositories: { id: number; fullName: string; private: boolean; cloneUrl?: string; defaultBranch?: string }[],
): Promise<void> {
  for (const repo of repositories) {
    const [owner = "", name = ""] = repo.fullName.split("/");
    await trx
      .insertInto("github_repos")
      .values({
        id: repo.id,
        installation_id: installationId,
        full_name: repo.fullName,
        owner,
        name,
        private: repo.private,
        clone_url: repo.cloneUrl ?? null,
        default_branch: repo.defaultBranch ?? null,
        removed_at: null,
      })
      .onConflict((oc) =>
        oc.column("id").doUpdateSet((eb) => ({
          installation_id: eb.ref("excluded.installation_id"),
          full_name: eb.ref("excluded.full_name"),
          owner: eb.ref("excluded.owner"),
          name: eb.ref("excluded.name"),
          private: eb.ref("excluded.private"),
          clone_url: sql<string>`coalesce(excluded.clone_url, github_repos.clone_url)`,
          default_branch: sql<string>`coalesce(excluded.default_branch, github_repos.default_branch)`,
          removed_at: null,
          updated_at: sql<Date>`now()`,
        })),
      )
      .execute();
  }
}

const fromPayload = (repos: Repository[]) =>
  repos.map((r) => ({ id: r.id, fullName: r.full_name, private: r.private }));

async function markRemoved(trx: Transaction<Database>, installationId: number, repositoryIds: number[] | "all") {
  let query = trx
    .updateTable("github_repos")
    .set({ removed_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
    .where("installation_id", "=", String(installationId))
    .where("removed_at", "is", null);
  if (repositoryIds !== "all") {
    if (repositoryIds.length === 0) return;
    query = query.where("id", "in", repositoryIds.map(String));
  }
  await query.execute();
}

export interface AppliedEvent {
  duplicate: boolean;
  reason: string;
}

export async function applyInstallationEvent(db: Db, deliveryId: string, payload: unknown): Promise<AppliedEvent> {
  const event = parse(installationEvent, payload, "installation");
  const id = event.installation.id;
  return db
    .transaction()
    .execute(async (trx) => {
      let reason: string;
      switch (event.action) {
        case "created":
          await upsertInstallation(trx, event.installation);
          await upsertRepositories(trx, id, fromPayload(event.repositories ?? []));
          reason = `installation ${id} created with ${event.repositories?.length ?? 0} repositories; bind it from Slipway's setup page`;
          break;
        case "deleted":
          await upsertInstallation(trx, event.installation);
          await trx
            .updateTable("github_installations")
            .set({ deleted_at: sql<Date>`now()` })
            .where("id", "=", String(id))
            .execute();
          await markRemoved(trx, id, "all");
          reason = `installation ${id} deleted; its repositories no longer build`;
          break;
        case "suspend":
        case "unsuspend":
          await upsertInstallation(trx, event.installation);
          await trx
            .updateTable("github_installations")
            .set({ suspended_at: event.action === "suspend" ? sql<Date>`now()` : null })
            .where("id", "=", String(id))
            .execute();
          reason = `installation ${id} ${event.action === "suspend" ? "suspended" : "unsuspended"}`;
          break;
        case "new_permissions_accepted":
          await upsertInstallation(trx, event.installation);
          reason = `installation ${id} accepted new permissions`;
          break;
        default:
          reason = `installation action ${event.action} is not handled`;
      }
      const fresh = await recordDelivery(trx, {
        deliveryId,
        event: "installation",
        action: event.action,
        installationId: id,
        outcome: "applied",
        reason,
      });
      if (!fresh) {
        // A redelivery: undo nothing by rolling back everything this transaction did.
        throw new DuplicateDelivery();
      }
      return { duplicate: false, reason };
    })
    .catch((error: unknown) => {
      if (error instanceof DuplicateDelivery) return { duplicate: true, reason: "this delivery was already received" };
      throw error;
    });
}

export async function applyInstallationRepositoriesEvent(
  db: Db,
  deliveryId: string,
  payload: unknown,
): Promise<AppliedEvent> {
  const event = parse(installationRepositoriesEvent, payload, "installation_repositories");
  const id = event.installation.id;
  return db
    .transaction()
    .execute(async (trx) => {
      await upsertInstallation(trx, event.installation);
      await upsertRepositories(trx, id, fromPayload(event.repositories_added));
      await markRemoved(
        trx,
        id,
        event.repositories_removed.map((r) => r.id),
      );
      const reason = `installation ${id}: ${event.repositories_added.length} repositories added, ${event.repositories_removed.length} removed`;
      const fresh = await recordDelivery(trx, {
        deliveryId,
        event: "installation_repositories",
        action: event.action,
        installationId: id,
        outcome: "applied",
        reason,
      });
      if (!fresh) throw new DuplicateDelivery();
      return { duplicate: false, reason };
    })
    .catch((error: unknown) => {
      if (error instanceof DuplicateDelivery) return { duplicate: true, reason: "this delivery was already received" };
      throw error;
    });
}

class DuplicateDelivery extends Error {}
