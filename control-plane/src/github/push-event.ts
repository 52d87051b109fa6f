// What a push webhook asks for, decided without touching the database: which branch, which commit,
// and whether it should build at all.
import { z } from "zod";

const pushPayload = z.object({
  ref: z.string().min(1),
  after: z.string().regex(/^[0-9a-f]{40}$/, "must be a 40-character commit sha"),
  deleted: z.boolean().optional().default(false),
  repository: z.object({ id: z.number().int().positive(), full_name: z.string().optional() }),
  head_commit: z.object({ message: z.string() }).nullable().optional(),
});

export interface PushEvent {
  repositoryId: number;
  ref: string;
  /** The branch name for refs/heads/*, otherwise null (tags and other refs). */
  branch: string | null;
  headSha: string;
  deleted: boolean;
  message: string;
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
  return {
    repositoryId: push.repository.id,
    ref: push.ref,
    branch: push.ref.startsWith("refs/heads/") ? push.ref.slice("refs/heads/".length) : null,
    headSha: push.after,
    deleted: push.deleted,
    message: push.head_commit?.message ?? "",
  };
}

const SKIP_CI = /\[(skip ci|ci skip)\]/i;

/** Why this push builds nothing regardless of linked services, or null when it may build. */
export function pushSkipReason(push: PushEvent): string | null {
  if (push.deleted || /^0{40}$/.test(push.headSha)) return `ref ${push.ref} was deleted`;
  if (push.branch === null) return `ref ${push.ref} is not a branch`;
  if (SKIP_CI.test(push.message)) return "the head commit asks to skip CI";
  return null;
}
