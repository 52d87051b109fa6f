// Rows most tests need: the bootstrap admin as actor, and a project with one service.
import { randomBytes } from "node:crypto";
import type { Db } from "@slipway/control-plane";
import { BOOTSTRAP_ADMIN_ID, DEFAULT_ORG_ID, type Build } from "../control-plane/src/db/schema.js";
import { insertBuild } from "../control-plane/src/builds/build-work.js";
import { notifyWork } from "../control-plane/src/work/sql/notify.js";
import { IngressAddresses } from "../control-plane/src/ingress/addresses.js";
import {
  createProject,
  createService,
  type NewServiceInput,
} from "../control-plane/src/projects/project-repository.js";

export const TEST_ACTOR = {
  userId: BOOTSTRAP_ADMIN_ID,
  orgId: DEFAULT_ORG_ID,
  role: "admin" as const,
  label: "user:test",
};

/** Where test services are reached when a test runs no ingress of its own. */
export const TEST_ADDRESSES = new IngressAddresses({ baseDomain: "localhost", listen: ":80", https: false });

export async function seedService(
  db: Db,
  overrides: Partial<NewServiceInput> = {},
): Promise<{ projectId: string; serviceId: string }> {
  const project = await createProject(db, TEST_ACTOR, `p-${randomBytes(4).toString("hex")}`);
  const service = await createService(db, TEST_ACTOR, TEST_ADDRESSES, project.id, {
    name: "web",
    gitUrl: "https://example.invalid/acme/web.git",
    branch: "main",
    containerPort: 8080,
    ...overrides,
  });
  return { projectId: project.id, serviceId: service.id };
}

/** Enrolled agents as rows only, for tests of the work queue that never open a channel. */
export async function seedAgents(
  db: Db,
  count: number,
  { capabilities = ["build"], labels = {} }: { capabilities?: string[]; labels?: Record<string, string> } = {},
): Promise<string[]> {
  const rows = await db
    .insertInto("agents")
    .values(
      Array.from({ length: count }, () => ({
        org_id: DEFAULT_ORG_ID,
        name: `agent-${randomBytes(4).toString("hex")}`,
        capabilities,
        labels: JSON.stringify(labels),
        join_token_hash: null,
        join_token_expires_at: null,
        enrolled_key_sha256: null,
        certificate_serial: null,
        certificate_expires_at: null,
        hostname: "test-host",
        enrolled_at: new Date(),
        revoked_at: null,
        last_seen_at: null,
      })),
    )
    .returning("id")
    .execute();
  return rows.map((row) => row.id);
}

/** Queues `count` manual builds of a service (random commits) and wakes the agents, in one transaction. */
export async function queueBuilds(db: Db, serviceId: string, count = 1): Promise<Build[]> {
  return db.transaction().execute(async (trx) => {
    const builds: Build[] = [];
    for (let i = 0; i < count; i++) {
      builds.push(
        await insertBuild(trx, {
          serviceId,
          commitSha: randomBytes(20).toString("hex"),
          branch: "main",
          trigger: "manual",
          actor: "user:test",
        }),
      );
    }
    await notifyWork(trx, "build");
    return builds;
  });
}
