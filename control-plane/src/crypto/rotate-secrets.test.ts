// Key rotation: values sealed under an old key open while it is listed as previous; rotate-secrets
// re-seals every sealed column under the new key, after which the new key alone opens everything.
// And no sealed column of the schema can be forgotten by the rotation.
import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/database.js";
import { seedService, TEST_ACTOR } from "../../../test-support/fixtures.js";
import { CONTROL_PLANE_MAIN, runToExit } from "../../../test-support/processes.js";
import { CertificateAuthority } from "../pki/certificate-authority.js";
import { patchVariables, serviceScope } from "../settings/variable-repository.js";
import { resolveServiceEnvironment } from "../settings/environment.js";
import { DEFAULT_ORG_ID } from "../db/schema.js";
import { SEALED_COLUMNS, rotateSecrets } from "./rotate-secrets.js";
import { SecretBox, SecretBoxError } from "./secret-box.js";

const key = () => randomBytes(32).toString("base64");

describe("the secret box", () => {
  it("opens with the current key, then each previous one, and seals under the current one only", () => {
    const [oldKey, olderKey, newKey] = [key(), key(), key()];
    const sealedOld = new SecretBox(oldKey).seal("under the old key");
    const sealedOlder = new SecretBox(olderKey).seal("under the older key");
    const rotating = new SecretBox(newKey, [oldKey, olderKey]);
    expect(rotating.open(sealedOld)).toBe("under the old key");
    expect(rotating.open(sealedOlder)).toBe("under the older key");
    expect(rotating.isCurrent(sealedOld)).toBe(false);
    const resealed = rotating.seal("fresh");
    expect(rotating.isCurrent(resealed)).toBe(true);
    expect(new SecretBox(newKey).open(resealed)).toBe("fresh");
    expect(() => new SecretBox(oldKey).open(resealed)).toThrow(SecretBoxError);
    expect(() => new SecretBox(newKey).open(sealedOld)).toThrow(/cannot open/);
    expect(() => new SecretBox(newKey, Array.from({ length: 9 }, key))).toThrow(/at most 8/);
  });
});

describe("rotate-secrets", () => {
  let database: TestDatabase;
  const oldKey = key();
  const newKey = key();
  const appSecrets = {
    client: `client-${randomBytes(8).toString("hex")}`,
    webhook: `hook-${randomBytes(8).toString("hex")}`,
  };
  const variableValue = `var-${randomBytes(8).toString("hex")}`;
  let serviceId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it("re-seals every sealed column under the new key; afterwards the new key alone opens them", async () => {
    const old = new SecretBox(oldKey);
    // Everything sealed under the old key: the CA, a GitHub App, variables (secret and plain).
    await CertificateAuthority.loadOrCreate(database.db, old);
    await database.db
      .insertInto("github_apps")
      .values({
        id: 4242,
        slug: "slipway-test",
        name: "Slipway test",
        owner_login: "acme",
        client_id: "Iv1.test",
        client_secret_enc: old.seal(appSecrets.client),
        webhook_secret_enc: old.seal(appSecrets.webhook),
        private_key_enc: old.seal("-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----"),
        html_url: "https://github.com/apps/slipway-test",
        created_by: "user:test",
      })
      .execute();
    ({ serviceId } = await seedService(database.db));
    const scope = await serviceScope(database.db, DEFAULT_ORG_ID, serviceId);
    await patchVariables(database.db, old, TEST_ACTOR, scope, {
      set: [
        { name: "TOKEN", value: variableValue, secret: true },
        { name: "PLAIN", value: "plain" },
      ],
    });

    // A new key without the old one as previous opens nothing, and rotation refuses, changing nothing.
    await expect(rotateSecrets(database.db, new SecretBox(newKey))).rejects.toThrow(
      /opens with neither SLIPWAY_SECRET_KEY nor SLIPWAY_SECRET_KEY_PREVIOUS; nothing was changed/,
    );
    expect(await resolveServiceEnvironment(database.db, old, serviceId)).toEqual({
      TOKEN: variableValue,
      PLAIN: "plain",
    });

    const counts = await rotateSecrets(database.db, new SecretBox(newKey, [oldKey]));
    expect(counts).toEqual([
      { column: "certificate_authority.private_key_enc", resealed: 1, current: 0 },
      { column: "github_apps.client_secret_enc", resealed: 1, current: 0 },
      { column: "github_apps.webhook_secret_enc", resealed: 1, current: 0 },
      { column: "github_apps.private_key_enc", resealed: 1, current: 0 },
      { column: "variables.value_enc", resealed: 2, current: 0 },
    ]);

    const onlyNew = new SecretBox(newKey);
    await expect(CertificateAuthority.loadOrCreate(database.db, onlyNew)).resolves.toBeDefined();
    const app = await database.db.selectFrom("github_apps").selectAll().executeTakeFirstOrThrow();
    expect(onlyNew.open(app.client_secret_enc)).toBe(appSecrets.client);
    expect(onlyNew.open(app.webhook_secret_enc)).toBe(appSecrets.webhook);
    expect(onlyNew.open(app.private_key_enc)).toContain("PRIVATE KEY");
    expect(await resolveServiceEnvironment(database.db, onlyNew, serviceId)).toEqual({
      TOKEN: variableValue,
      PLAIN: "plain",
    });
    await expect(resolveServiceEnvironment(database.db, old, serviceId)).rejects.toThrow(SecretBoxError);

    // Again: nothing left to do.
    expect((await rotateSecrets(database.db, onlyNew)).every((c) => c.resealed === 0)).toBe(true);
  });

  it("is the control plane's rotate-secrets command, which prints counts and never a value", async () => {
    const newest = key();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      SLIPWAY_BOOTSTRAP_TOKEN: "t".repeat(40),
      SLIPWAY_SECRET_KEY: newest,
      SLIPWAY_SECRET_KEY_PREVIOUS: `${oldKey},${newKey}`,
    };
    const run = await runToExit(CONTROL_PLANE_MAIN, ["rotate-secrets"], env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("rotate-secrets: variables.value_enc: 2 re-sealed, 0 already current");
    expect(run.stdout).toContain("rotate-secrets: re-sealed 6 values under SLIPWAY_SECRET_KEY (0 already were)");
    for (const value of [variableValue, appSecrets.client, appSecrets.webhook, oldKey, newKey, newest]) {
      expect(run.stdout).not.toContain(value);
    }
    expect(await resolveServiceEnvironment(database.db, new SecretBox(newest), serviceId)).toEqual({
      TOKEN: variableValue,
      PLAIN: "plain",
    });

    // A key it cannot open with: exit 1, one line saying why, nothing changed.
    const refused = await runToExit(CONTROL_PLANE_MAIN, ["rotate-secrets"], { ...env, SLIPWAY_SECRET_KEY: key() });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toMatch(/^rotate-secrets: a value of \S+ \(id \S+\) opens with neither/);
    expect(await resolveServiceEnvironment(database.db, new SecretBox(newest), serviceId)).toEqual({
      TOKEN: variableValue,
      PLAIN: "plain",
    });
  });

  it("knows every sealed column of the schema", async () => {
    // Every sealed column is named *_enc (bytea); a new one that rotate-secrets does not list fails here.
    const { rows } = await sql<{ table_name: string; column_name: string }>`
      SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND column_name LIKE '%\_enc'`.execute(database.db);
    const sealedInSchema = rows.map((r) => `${r.table_name}.${r.column_name}`).sort();
    const rotated = SEALED_COLUMNS.flatMap((t) => t.columns.map((c) => `${t.table}.${c}`)).sort();
    expect(sealedInSchema).toEqual(rotated);
  });
});
