// What a push webhook asks for, decided without touching the database: which ref, which commit,
// which files changed, and whether it should build at all.
import { z } from "zod";

const commit = z.object({
  added: z.array(z.string()).optional(),
  removed: z.array(z.string()).optional(),
  modified: z.array(z.string()).optional(),
});

const pushPayload = z.object({
  ref: z.string().min(1),
  after: z.string().regex(/^[0-9a-f]{40}$/, "must be a 40-character commit sha"),
  deleted: z.boolean().optional().default(false),
  repository: z.object({ id: z.number().int().positive(), full_name: z.string().optional() }),
  installation: z.object({ id: z.number().int().positive() }).optional(),
  head_commit: z.object({ message: z.string() }).nullable().optional(),
  commits: z.array(commit).optional(),
});

/** GitHub lists at most this many commits in a push payload; beyond it the file list is incomplete. */
const MAX_LISTED_COMMITS = 20;

export interface PushEvent {
  repositoryId: number;
  repositoryFullName: string | undefined;
  installationId: number | undefined;
  ref: string;
  /** The branch name for refs/heads/*, otherwise null. */
  branch: string | null;
  /** The tag name for refs/tags/*, otherwise null. */
  tag: string | null;
  headSha: string;
  deleted: boolean;
  message: string;
  /** Every path the push touched, or null when the payload cannot tell (too many commits). */
  changedFiles: string[] | null;
}

export class PayloadError extends Error {
  override name = "PayloadError";
}

export function parsePushEvent(payload: unknown): PushEvent {
  const result = pushPayload.safeParse(payload);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new PayloadError(`push payload: ${issue?.path.join(".") || "body"} ${issue?.message ?? "is invalid"}`);
  }
  const push = result.data;
  const commits = push.commits ?? [];
  const changedFiles =
    commits.length === 0 || commits.length >= MAX_LISTED_COMMITS
      ? null
      : [...new Set(commits.flatMap((c) => [...(c.added ?? []), ...(c.removed ?? []), ...(c.modified ?? [])]))];
  return {
    repositoryId: push.repository.id,
    repositoryFullName: push.repository.full_name,
    installationId: push.installation?.id,
    ref: push.ref,
    branch: push.ref.startsWith("refs/heads/") ? push.ref.slice("refs/heads/".length) : null,
    tag: push.ref.startsWith("refs/tags/") ? push.ref.slice("refs/tags/".length) : null,
    headSha: push.after,
    deleted: push.deleted,
    message: push.head_commit?.message ?? "",
    changedFiles,
  };
}

const SKIP_CI = /\[(skip ci|ci skip)\]/i;

/** Why this push builds nothing whatever services are linked, or null when it may build. */
export function pushSkipReason(push: PushEvent): string | null {
  if (push.deleted || /^0{40}$/.test(push.headSha)) return `ref ${push.ref} was deleted`;
  if (push.branch === null && push.tag === null) return `ref ${push.ref} is neither a branch nor a tag`;
  if (SKIP_CI.test(push.message)) return "the head commit asks to skip CI";
  return null;
}

/**
 * The directories a service watches, normalised ("" is the whole repository): its root directory,
 * plus its watch paths when it has any. A root-level service with watch paths builds only for them.
 */
export function watchedDirectories(rootDir: string, watchPaths: string[]): string[] {
  const normalise = (path: string) =>
    path
      .replace(/^\.?\/+/, "")
      .replace(/\/?\*\*$/, "")
      .replace(/\/+$/, "");
  const root = normalise(rootDir);
  if (watchPaths.length === 0) return [root];
  return [...(root ? [root] : []), ...watchPaths.map(normalise)];
}

/** Whether a push touched anything a service watches; true when the payload cannot tell. */
export function touchesService(changedFiles: string[] | null, rootDir: string, watchPaths: string[]): boolean {
  const directories = watchedDirectories(rootDir, watchPaths);
  if (changedFiles === null || directories.includes("")) return true;
  return changedFiles.some((file) => directories.some((dir) => file === dir || file.startsWith(`${dir}/`)));
}
