// Environment variables of a service, or shared by the services of a project (a "scope"). Every value
// is sealed with the secret box; a secret's value never leaves this module except into a replica's
// spec (environment.ts). Each change is one transaction: it is checked as a whole against the limits
// and either applied entirely, audited by names only, or refused with a reason and nothing changed.
import { sql, type Transaction } from "kysely";
import type { Db } from "../db/database.js";
import type { Database, Variable } from "../db/schema.js";
import type { Actor } from "../auth/bootstrap-auth.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { audit } from "../audit/audit-log.js";
import { invalid } from "../errors.js";
import { getProject, getService } from "../projects/project-repository.js";

export const VARIABLE_LIMITS = {
  nameLength: 128,
  /** Bytes of one value (UTF-8). */
  valueBytes: 32 * 1024,
  /** Variables in one scope. */
  count: 200,
  /** Bytes of every name and value of one scope together. */
  totalBytes: 256 * 1024,
} as const;

export const VARIABLE_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]{0,127}$";
const NAME = new RegExp(VARIABLE_NAME_PATTERN);

/** Where variables live: a service's own, or its project's shared set. */
export type Scope = { kind: "service"; projectId: string; serviceId: string } | { kind: "project"; projectId: string };

/** One variable as a caller gives it. Without `value`: keep the current value of a secret. */
export interface VariableInput {
  name: string;
  value?: string | undefined;
  /** Omitted: the variable's current flag (false for a new one). */
  secret?: boolean | undefined;
}

/** One variable as the API shows it: a secret's value is never shown. */
export interface VariableView {
  name: string;
  value: string | null;
  secret: boolean;
  scope: "service" | "project";
  updatedAt: Date;
}

export interface VariablesChange {
  variables: VariableView[];
  /** Names added, changed (value or secret flag) or removed, sorted. */
  changed: string[];
  /** Services whose environment changed while they have running replicas: they need a redeploy. */
  redeployServices: string[];
}

/** The scope of a service of the caller's organisation (404 otherwise). */
export async function serviceScope(db: Db, orgId: string, serviceId: string): Promise<Scope> {
  const service = await getService(db, orgId, serviceId);
  return { kind: "service", projectId: service.project_id, serviceId: service.id };
}

/** The shared scope of a project of the caller's organisation (404 otherwise). */
export async function projectScope(db: Db, orgId: string, projectId: string): Promise<Scope> {
  const project = await getProject(db, orgId, projectId);
  return { kind: "project", projectId: project.id };
}

const inScope = (scope: Scope) =>
  scope.kind === "service"
    ? sql<boolean>`project_id = ${scope.projectId} AND service_id = ${scope.serviceId}`
    : sql<boolean>`project_id = ${scope.projectId} AND service_id IS NULL`;

async function rowsOf(db: Db | Transaction<Database>, scope: Scope): Promise<Variable[]> {
  return db.selectFrom("variables").selectAll().where(inScope(scope)).orderBy("name").execute();
}

function view(box: SecretBox, row: Variable): VariableView {
  return {
    name: row.name,
    value: row.secret ? null : box.open(row.value_enc),
    secret: row.secret,
    scope: row.service_id === null ? "project" : "service",
    updatedAt: row.updated_at,
  };
}

/** The scope's own variables, by name. */
export async function listVariables(db: Db, box: SecretBox, scope: Scope): Promise<VariableView[]> {
  return (await rowsOf(db, scope)).map((row) => view(box, row));
}

/** The project's variables a service gets without overriding them. */
export async function inheritedVariables(db: Db, box: SecretBox, scope: Scope): Promise<VariableView[]> {
  if (scope.kind !== "service") return [];
  const rows = await db
    .selectFrom("variables as p")
    .selectAll("p")
    .where("p.project_id", "=", scope.projectId)
    .where("p.service_id", "is", null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("variables as s")
            .select("s.id")
            .where("s.service_id", "=", scope.serviceId)
            .whereRef("s.name", "=", "p.name"),
        ),
      ),
    )
    .orderBy("p.name")
    .execute();
  return rows.map((row) => view(box, row));
}

/** Replaces the scope's whole set: variables not named are removed. */
export function replaceVariables(
  db: Db,
  box: SecretBox,
  actor: Actor,
  scope: Scope,
  variables: readonly VariableInput[],
): Promise<VariablesChange> {
  return changeVariables(db, box, actor, scope, (current) => {
    checkUnique(variables.map((v) => v.name));
    return { set: variables, remove: [...current.keys()].filter((name) => !variables.some((v) => v.name === name)) };
  });
}

/** Sets some variables and removes others (names absent already are ignored); the rest stay. */
export function patchVariables(
  db: Db,
  box: SecretBox,
  actor: Actor,
  scope: Scope,
  patch: { set?: readonly VariableInput[] | undefined; remove?: readonly string[] | undefined },
): Promise<VariablesChange> {
  return changeVariables(db, box, actor, scope, () => {
    const set = patch.set ?? [];
    const remove = patch.remove ?? [];
    checkUnique(set.map((v) => v.name));
    checkUnique(remove);
    const both = set.find((v) => remove.includes(v.name));
    if (both) throw invalid(`${both.name} is both set and removed`);
    return { set, remove };
  });
}

function checkUnique(names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw invalid(`${checkedName(name)} is named twice`);
    seen.add(name);
  }
}

/** The name itself when it is one, so that a reason may repeat it; never repeats anything else. */
function checkedName(name: string): string {
  if (!NAME.test(name)) {
    throw invalid(
      `a variable name must be a letter or _ followed by at most ${VARIABLE_LIMITS.nameLength - 1} letters, digits or _`,
    );
  }
  if (name === "PORT") throw invalid("PORT is reserved: Slipway sets it to the service's container port");
  if (name.toUpperCase().startsWith("SLIPWAY_"))
    throw invalid(`${name} is reserved: names starting SLIPWAY_ are Slipway's`);
  return name;
}

function checkValue(name: string, value: string): void {
  if (Buffer.byteLength(value, "utf8") > VARIABLE_LIMITS.valueBytes)
    throw invalid(`the value of ${name} is over ${VARIABLE_LIMITS.valueBytes / 1024} KiB; nothing was changed`);
  if (value.includes("\0")) throw invalid(`the value of ${name} contains a NUL byte; nothing was changed`);
}

interface Planned {
  set: readonly VariableInput[];
  remove: readonly string[];
}

async function changeVariables(
  db: Db,
  box: SecretBox,
  actor: Actor,
  scope: Scope,
  plan: (current: Map<string, Variable>) => Planned,
): Promise<VariablesChange> {
  return db.transaction().execute(async (trx) => {
    const scopeId = scope.kind === "service" ? scope.serviceId : scope.projectId;
    // One change of a scope at a time: the limits hold for what the last one leaves.
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`slipway.variables:${scopeId}`}, 0))`.execute(trx);
    const current = new Map((await rowsOf(trx, scope)).map((row) => [row.name, row]));
    const { set, remove } = plan(current);

    // Check everything before writing anything.
    const next = new Map<string, { value: string; secret: boolean; row: Variable | undefined }>();
    for (const [name, row] of current) next.set(name, { value: "", secret: row.secret, row });
    for (const name of remove) next.delete(checkedName(name));
    const writes: { name: string; value: string; secret: boolean; row: Variable | undefined }[] = [];
    for (const input of set) {
      const name = checkedName(input.name);
      const row = current.get(name);
      if (input.value === undefined) {
        // A masked secret sent back as it was shown keeps its value; it cannot lose its secrecy so.
        if (!row?.secret) throw invalid(`${name} needs a value (only an existing secret may omit it)`);
        if (input.secret === false) throw invalid(`${name} needs its value to stop being a secret`);
        continue;
      }
      checkValue(name, input.value);
      const secret = input.secret ?? row?.secret ?? false;
      if (row && row.secret === secret && box.open(row.value_enc) === input.value) continue;
      writes.push({ name, value: input.value, secret, row });
      next.set(name, { value: input.value, secret, row });
    }
    if (next.size > VARIABLE_LIMITS.count)
      throw invalid(`a ${scope.kind} may have at most ${VARIABLE_LIMITS.count} variables; nothing was changed`);
    let total = 0;
    for (const [name, entry] of next) {
      const bytes =
        entry.row && !writes.some((w) => w.name === name)
          ? Buffer.byteLength(box.open(entry.row.value_enc), "utf8")
          : Buffer.byteLength(entry.value, "utf8");
      total += Buffer.byteLength(name, "utf8") + bytes;
    }
    if (total > VARIABLE_LIMITS.totalBytes)
      throw invalid(
        `a ${scope.kind}'s variables may hold at most ${VARIABLE_LIMITS.totalBytes / 1024} KiB together; nothing was changed`,
      );

    const removed = remove.filter((name) => current.has(name));
    if (removed.length > 0) {
      await trx.deleteFrom("variables").where(inScope(scope)).where("name", "in", removed).execute();
    }
    for (const write of writes) {
      if (write.row) {
        await trx
          .updateTable("variables")
          .set({ value_enc: box.seal(write.value), secret: write.secret, updated_at: sql<Date>`now()` })
          .where("id", "=", write.row.id)
          .execute();
      } else {
        await trx
          .insertInto("variables")
          .values({
            project_id: scope.projectId,
            service_id: scope.kind === "service" ? scope.serviceId : null,
            name: write.name,
            value_enc: box.seal(write.value),
            secret: write.secret,
          })
          .execute();
      }
    }
    const changed = [...writes.map((w) => w.name), ...removed].sort();
    const redeployServices = changed.length > 0 ? await servicesToRedeploy(trx, scope, changed) : [];
    if (changed.length > 0) {
      // Names only: an audit entry never holds a value, secret or not.
      await audit(trx, actor, "variables.update", `${scope.kind}:${scopeId}`, {
        set: writes.map((w) => w.name).sort(),
        removed: [...removed].sort(),
        secrets: writes
          .filter((w) => w.secret)
          .map((w) => w.name)
          .sort(),
      });
    }
    return {
      variables: (await rowsOf(trx, scope)).map((row) => view(box, row)),
      changed,
      redeployServices,
    };
  });
}

/**
 * The services whose effective environment the change of `names` altered and that have replicas
 * running (which started with the old one). A project's variable changes nothing for a service
 * that overrides it.
 */
async function servicesToRedeploy(trx: Transaction<Database>, scope: Scope, names: string[]): Promise<string[]> {
  const affected =
    scope.kind === "service"
      ? sql<boolean>`s.id = ${scope.serviceId}`
      : // Some changed name the service does not override.
        sql<boolean>`EXISTS (SELECT 1 FROM unnest(${names}::text[]) AS n(name) WHERE NOT EXISTS (
                       SELECT 1 FROM variables o WHERE o.service_id = s.id AND o.name = n.name))`;
  const { rows } = await sql<{ id: string }>`
    SELECT s.id FROM services s
    WHERE s.project_id = ${scope.projectId} AND ${affected}
      AND EXISTS (SELECT 1 FROM deployments d JOIN deploy_work_items i ON i.deployment_id = d.id
                  WHERE d.service_id = s.id AND i.status = 'running')
    ORDER BY s.id`.execute(trx);
  return rows.map((row) => row.id);
}
