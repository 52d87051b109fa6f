// Push webhooks shaped like GitHub's: real examples from @octokit/webhooks-examples, adjusted to
// point at a test repository, and signed with @octokit/webhooks-methods as GitHub would.
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { sign } from "@octokit/webhooks-methods";

// A JSON module: required, so that plain Node (the benchmarks) loads it as vitest does.
const examples: unknown = createRequire(import.meta.url)("@octokit/webhooks-examples");

type Example = Record<string, unknown> & { repository: Record<string, unknown> };

export function webhookExamples(event: string): Example[] {
  const entry = (examples as unknown as { name: string; examples: Example[] }[]).find((e) => e.name === event);
  if (!entry) throw new Error(`no @octokit/webhooks-examples entry for ${event}`);
  return entry.examples.map((example) => structuredClone(example));
}

/** GitHub's example of a push to a branch, re-aimed at our repository, branch and commit. */
export function pushPayload(input: { repositoryId: number; branch: string; sha: string; message?: string }): Example {
  const example = webhookExamples("push").find((e) => String(e.ref).startsWith("refs/heads/") && e.deleted === false);
  if (!example) throw new Error("no branch push example");
  example.ref = `refs/heads/${input.branch}`;
  example.after = input.sha;
  example.repository.id = input.repositoryId;
  const headCommit = (example.head_commit ?? {}) as Record<string, unknown>;
  example.head_commit = { ...headCommit, id: input.sha, message: input.message ?? "Update content" };
  return example;
}

export interface SignedDelivery {
  body: string;
  headers: Record<string, string>;
}

export async function signedDelivery(
  secret: string,
  event: string,
  payload: unknown,
  deliveryId: string = randomUUID(),
): Promise<SignedDelivery> {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      "content-type": "application/json",
      "x-github-event": event,
      "x-github-delivery": deliveryId,
      "x-hub-signature-256": await sign(secret, body),
      "user-agent": "GitHub-Hookshot/test",
    },
  };
}
