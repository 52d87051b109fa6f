// Turns verified push deliveries into build rows, fast. For each delivery: one read of the services
// linked to its repository, a decision in memory (push-event.ts), and one write statement that
// records the delivery with its outcome and reason, its builds, their history rows and their GitHub
// Deployments outbox rows — atomically, since it is a single statement; a redelivered id conflicts
// and writes nothing. The builds are enqueued as every kind of work is (work/sql/enqueue.ts).
// Concurrent deliveries share those statements (db/batcher.ts).
import { sql } from "kysely";
import type { Db } from "../db/database.js";
import { Batcher } from "../db/batcher.js";
import type { WorkWaker } from "../work/wake-up.js";
import { pendingWork } from "../work/sql/enqueue.js";
import { BUILD_TABLE } from "../builds/build-work.js";
import { pushSkipReason, touchesService, watchedDirectories, type PushEvent } from "./push-event.js";
import { repositoryProblem } from "./repository-state.js";

export interface PushResult {
  duplicate: boolean;
  outcome: "queued" | "ignored";
  reason: string;
  buildIds: string[];
}

interface LinkedRow {
  id: string;
  service_org: string;
  installation_org: string | null;
  name: string;
  branch: string;
  root_dir: string;
  watch_paths: string[];
  build_tags: boolean;
  github_repo_id: string;
  repo_known: boolean;
  full_name: string | null;
  installation_id: string | null;
  removed_at: Date | null;
  suspended_at: Date | null;
  deleted_at: Date | null;
}

interface Decision {
  targets: LinkedRow[];
  outcome: "queued" | "ignored";
  reason: string;
  /** Set when the builds should be mirrored to GitHub Deployments. */
  outbox: { installationId: number; repository: string } | null;
}

/** Why this service does not build this push, or null when it does. */
function serviceSkipReason(service: LinkedRow, push: PushEvent): string | null {
  if (push.tag !== null) return service.build_tags ? null : "tag pushes are not built";
  if (service.branch !== push.branch) return `builds branch ${service.branch}`;
  if (!touchesService(push.changedFiles, service.root_dir, service.watch_paths)) {
    return `no change under ${watchedDirectories(service.root_dir, service.watch_paths).join(", ")}`;
  }
  return null;
}

/** What a push should build, and why, given the services linked to its repository. */
export function decidePush(push: PushEvent, linked: LinkedRow[]): Decision {
  const ignored = (reason: string): Decision => ({ targets: [], outcome: "ignored", reason, outbox: null });
  const skip = pushSkipReason(push);
  if (skip) return ignored(skip);
  const repoLabel = push.repositoryFullName ?? `repository ${push.repositoryId}`;
  if (linked.length === 0) return ignored(`no service is linked to ${repoLabel}`);
  const repo = linked[0] as LinkedRow;
  const problem = repo.repo_known && repo.full_name ? repositoryProblem({ ...repo, full_name: repo.full_name }) : null;
  if (problem) return ignored(problem);

  const decisions = linked.map((service) => ({ service, skip: serviceSkipReason(service, push) }));
  const targets = decisions.filter((d) => d.skip === null).map((d) => d.service);
  const skipped = decisions.filter((d) => d.skip !== null).map((d) => `${d.service.name} (${d.skip})`);
  const ref = push.branch !== null ? `branch ${push.branch}` : `tag ${push.tag}`;
  if (targets.length === 0) return ignored(`no linked service builds this push of ${ref}: ${skipped.join(", ")}`);
  const repository = repo.full_name ?? push.repositoryFullName;
  return {
    targets,
    outcome: "queued",
    reason:
      `queued ${targets.length} build(s) for ${ref}: ${targets.map((t) => t.name).join(", ")}` +
      (skipped.length ? `; not built: ${skipped.join(", ")}` : ""),
    outbox:
      repo.installation_id !== null && repository ? { installationId: Number(repo.installation_id), repository } : null,
  };
}

interface WriteItem {
  deliveryId: string;
  push: PushEvent;
  decision: Decision;
}

export class PushRecorder {
  private readonly reads: Batcher<number, LinkedRow[]>;
  private readonly writes: Batcher<WriteItem, string[] | null>;

  constructor(
    private readonly db: Db,
    private readonly waker: WorkWaker,
  ) {
    const options = { maxBatch: 200, maxInFlight: 2 };
    this.reads = new Batcher((repositoryIds) => this.readLinked(repositoryIds), options);
    this.writes = new Batcher((items) => this.writeDeliveries(items), options);
  }

  async record(deliveryId: string, push: PushEvent): Promise<PushResult> {
    const skip = pushSkipReason(push);
    const linked = skip ? [] : await this.reads.submit(push.repositoryId);
    const decision = decidePush(push, linked);
    const buildIds = await this.writes.submit({ deliveryId, push, decision });
    if (buildIds === null) {
      return { duplicate: true, outcome: decision.outcome, reason: "this delivery was already received", buildIds: [] };
    }
    if (buildIds.length > 0) this.waker.poke("build");
    return { duplicate: false, outcome: decision.outcome, reason: decision.reason, buildIds };
  }

  private async readLinked(repositoryIds: number[]): Promise<LinkedRow[][]> {
    const { rows } = await sql<LinkedRow>`
      SELECT s.id, s.name, s.branch, s.root_dir, s.watch_paths, s.build_tags, s.github_repo_id,
             p.org_id AS service_org, i.org_id AS installation_org,
             r.id IS NOT NULL AS repo_known, r.full_name, r.installation_id, r.removed_at,
             i.suspended_at, i.deleted_at
      FROM services s
      JOIN projects p ON p.id = s.project_id
      LEFT JOIN github_repos r ON r.id = s.github_repo_id
      LEFT JOIN github_installations i ON i.id = r.installation_id
      WHERE s.github_repo_id = ANY(${[...new Set(repositoryIds)].map(String)}::bigint[])
      ORDER BY s.created_at, s.id`.execute(this.db);
    return repositoryIds.map((id) => rows.filter((row) => row.github_repo_id === String(id)));
  }

  /** Writes a batch; per item, the new build ids, or null when the delivery id was seen before. */
  private async writeDeliveries(items: WriteItem[]): Promise<(string[] | null)[]> {
    // A delivery id twice in one statement would insert its builds twice: later copies are
    // duplicates by definition, whatever the first one's fate.
    const first = new Map<string, WriteItem>();
    for (const item of items) if (!first.has(item.deliveryId)) first.set(item.deliveryId, item);
    const unique = [...first.values()];
    const targets = unique.flatMap((item) => item.decision.targets.map((service) => ({ item, service })));
    const { rows } = await sql<{ delivery_id: string; build_ids: string[] }>`
      WITH input AS (
        SELECT * FROM unnest(
          ${unique.map((i) => i.deliveryId)}::text[], ${unique.map((i) => String(i.push.repositoryId))}::bigint[],
          ${unique.map((i) => (i.push.installationId === undefined ? null : String(i.push.installationId)))}::bigint[],
          ${unique.map((i) => i.push.ref)}::text[], ${unique.map((i) => i.push.headSha)}::text[],
          ${unique.map((i) => i.decision.outcome)}::text[], ${unique.map((i) => i.decision.reason)}::text[],
          ${unique.map((i) => i.decision.targets.length)}::int[],
          ${unique.map((i) => i.push.branch ?? i.push.tag ?? "")}::text[], ${unique.map((i) => i.push.message)}::text[],
          ${unique.map((i) => (i.decision.outbox ? String(i.decision.outbox.installationId) : null))}::bigint[],
          ${unique.map((i) => i.decision.outbox?.repository ?? null)}::text[]
        ) AS i(delivery_id, repository_id, installation_id, ref, head_sha, outcome, reason, builds_created,
               branch, message, outbox_installation, outbox_repository)
      ), target AS (
        SELECT * FROM unnest(
          ${targets.map((t) => t.item.deliveryId)}::text[], ${targets.map((t) => t.service.id)}::uuid[],
          ${targets.map((t) => t.service.name)}::text[],
          -- Mirrored to GitHub Deployments only for the organisation that installed the app.
          ${targets.map((t) => t.service.service_org === t.service.installation_org)}::boolean[]
        ) AS t(delivery_id, service_id, environment, mirror)
      ), delivery AS (
        INSERT INTO webhook_deliveries
          (delivery_id, event, repository_id, installation_id, ref, head_sha, outcome, reason, builds_created)
        SELECT delivery_id, 'push', repository_id, installation_id, ref, head_sha, outcome, reason, builds_created
        FROM input
        ON CONFLICT (delivery_id) DO NOTHING
        RETURNING delivery_id
      ), ${pendingWork(
        BUILD_TABLE,
        "build",
        ["service_id", "commit_sha", "branch", "commit_message", "trigger", "delivery_id"],
        sql`SELECT t.service_id, i.head_sha, i.branch, i.message, 'push', i.delivery_id
            FROM target t JOIN delivery d USING (delivery_id) JOIN input i USING (delivery_id)`,
        sql`'webhook:' || delivery_id`,
      )}, outbox AS (
        INSERT INTO github_deployments (build_id, installation_id, repository, environment)
        SELECT b.id, i.outbox_installation, i.outbox_repository, t.environment
        FROM build b JOIN input i USING (delivery_id)
        JOIN target t ON t.delivery_id = b.delivery_id AND t.service_id = b.service_id
        WHERE i.outbox_installation IS NOT NULL AND t.mirror
      )
      SELECT d.delivery_id,
             coalesce((SELECT array_agg(b.id) FROM build b WHERE b.delivery_id = d.delivery_id), '{}') AS build_ids
      FROM delivery d`.execute(this.db);
    const fresh = new Map(rows.map((r) => [r.delivery_id, r.build_ids]));
    return items.map((item) => (first.get(item.deliveryId) === item ? (fresh.get(item.deliveryId) ?? null) : null));
  }
}
