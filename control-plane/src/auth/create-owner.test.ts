// The create-owner command: the password from stdin, the first owner once, then a clear refusal.
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/database.js";
import { DEFAULT_ORG_ID } from "../db/schema.js";
import { createOwnerCommand } from "./create-owner.js";
import { signIn } from "./accounts.js";

describe("create-owner", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  const stdin = (text: string) => Readable.from([text]);

  it("refuses bad arguments and a short password, creating nothing", async () => {
    await expect(
      createOwnerCommand(database.db, ["--email", "a@b.test"], stdin("long enough password\n")),
    ).rejects.toThrow(/usage: slipway-control-plane create-owner/);
    await expect(createOwnerCommand(database.db, ["--password", "x"], stdin(""))).rejects.toThrow(/Unknown option/);
    await expect(
      createOwnerCommand(database.db, ["--email", "a@b.test", "--name", "A"], stdin("short\n")),
    ).rejects.toThrow(/must be 10 to 256 characters/);
    const users = await database.db.selectFrom("users").select("id").execute();
    expect(users).toHaveLength(1); // the bootstrap admin
  });

  it("creates the first owner with the password read from stdin, then refuses", async () => {
    const said = await createOwnerCommand(
      database.db,
      ["--email", "Boss@Example.test", "--name", "The Boss", "--org", "Acme"],
      stdin("from stdin, not argv\n"),
    );
    expect(said).toBe('create-owner: boss@example.test is the owner of "Acme"');
    const owner = await signIn(database.db, "boss@example.test", "from stdin, not argv");
    expect(owner.actor).toMatchObject({ orgId: DEFAULT_ORG_ID, role: "owner" });
    await expect(
      createOwnerCommand(database.db, ["--email", "two@example.test", "--name", "Two"], stdin("another password\n")),
    ).rejects.toThrow("create-owner: an owner already exists; ask them for an invitation");
  });
});
