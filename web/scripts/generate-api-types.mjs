// Writes web/src/api/schema.d.ts from the control plane's OpenAPI description.
// Needs the control plane built (`pnpm run build`); no database or Redis: the app is built on
// inert connections. Run it with `pnpm run generate:api`.
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { openApiDocument } from "../../control-plane/dist/index.js";
import { renderApiTypes } from "./api-types.mjs";

const target = fileURLToPath(new URL("../src/api/schema.d.ts", import.meta.url));
await writeFile(target, await renderApiTypes(await openApiDocument()));
console.log(`wrote ${target}`);
