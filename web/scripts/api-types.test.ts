// The dashboard's API types are generated from the control plane's OpenAPI description; this
// fails when a route's schema changed and web/src/api/schema.d.ts was not generated again
// (`pnpm run generate:api`).
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../control-plane/src/http/openapi-document.js";
import { renderApiTypes } from "./api-types.mjs";

describe("web/src/api/schema.d.ts", () => {
  it("is what the current API description generates", async () => {
    const committed = await readFile(new URL("../src/api/schema.d.ts", import.meta.url), "utf8");
    const fresh = await renderApiTypes(await openApiDocument());
    // A short message rather than a 2,000-line diff.
    expect(fresh === committed, "schema.d.ts is stale: run `pnpm run generate:api` and commit it").toBe(true);
  });
});
