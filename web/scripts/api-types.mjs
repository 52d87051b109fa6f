// Renders the API's OpenAPI description as TypeScript types (openapi-typescript), the text of
// web/src/api/schema.d.ts. Shared by the generator and the test that keeps the file current.
import openapiTS, { astToString } from "openapi-typescript";

const HEADER = [
  "// Generated from the control plane's OpenAPI description (/api/docs/json). Do not edit:",
  "// run `pnpm run generate:api` after changing a route's schema.",
  "",
].join("\n");

/** @param {Record<string, unknown>} document */
export async function renderApiTypes(document) {
  const ast = await openapiTS(/** @type {any} */ (document), { alphabetize: true });
  return HEADER + astToString(ast);
}
