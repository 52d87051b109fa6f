// Rows most tests need: the bootstrap admin as actor, and a project with one service.
import { randomBytes } from "node:crypto";
import type { Db } from "@slipway/control-plane";
import { BOOTSTRAP_ADMIN_ID, DEFAULT_ORG_ID } from "../control-plane/src/db/schema.js";
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

export async function seedService(
  db: Db,
  overrides: Partial<NewServiceInput> = {},
): Promise<{ projectId: string; serviceId: string }> {
  const project = await createProject(db, TEST_ACTOR, `p-${randomBytes(4).toString("hex")}`);
  const service = await createService(db, TEST_ACTOR, project.id, {
    name: "web",
    gitUrl: "https://example.invalid/acme/web.git",
    branch: "main",
    containerPort: 8080,
    ...overrides,
  });
  return { projectId: project.id, serviceId: service.id };
}
