// Checks the stand-in's responses against GitHub's own OpenAPI description (@octokit/openapi), so the
// stand-in cannot quietly drift from the real API: every JSON body is validated against the schema
// documented for its operation and status.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import AjvModule, { type ValidateFunction } from "ajv";
import formatsModule from "ajv-formats";

// Both packages are CommonJS with a `default` export; under NodeNext the class sits on `.default`.
const Ajv = AjvModule.default;
const addFormats = formatsModule.default;

const SPEC_ID = "https://api.github.com/openapi.json";

type Json = Record<string, unknown>;

export interface ResponseValidator {
  /**
   * Validates a JSON response body for an operation (`pathTemplate` as written in the description,
   * e.g. `/repos/{owner}/{repo}/deployments`). Returns a readable description of the violation, or
   * null when the body matches.
   */
  validate(method: string, pathTemplate: string, status: number, body: unknown): string | null;
  /** The operation's documentation page, as GitHub puts in error bodies' `documentation_url`. */
  documentationUrl(method: string, pathTemplate: string): string | undefined;
}

let validatorPromise: Promise<ResponseValidator> | undefined;

/** Loads the description once per process (it is ~13 MB) and returns the shared validator. */
export function loadResponseValidator(): Promise<ResponseValidator> {
  validatorPromise ??= createValidator();
  return validatorPromise;
}

async function createValidator(): Promise<ResponseValidator> {
  const file = createRequire(import.meta.url).resolve("@octokit/openapi/generated/api.github.com.json");
  const spec = JSON.parse(await readFile(file, "utf8")) as Json;
  convertNullable(spec);
  spec.$id = SPEC_ID;

  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  // GitHub documents `default: ""` for several `format: uri` fields (a deployment status's
  // target_url, log_url, environment_url), and really returns "" for them: accept it.
  const uri = ajv.formats.uri;
  ajv.addFormat("uri", (value: string) => value === "" || (typeof uri === "function" ? uri(value) : true));
  // Formats GitHub uses that are descriptive only.
  ajv.addFormat("repo.nwo", true);
  ajv.addFormat("timestamp", true);
  ajv.addSchema(spec);

  const paths = spec.paths as Record<string, Record<string, Json>>;
  const components = spec.components as { responses: Record<string, Json> };
  const compiled = new Map<string, ValidateFunction | null>();

  const operation = (method: string, template: string): Json | undefined => paths[template]?.[method.toLowerCase()];

  /** The compiled schema for one operation + status; null when the status documents no JSON body. */
  function schemaFor(method: string, template: string, status: number): ValidateFunction | null | "undocumented" {
    const key = `${method} ${template} ${status}`;
    const cached = compiled.get(key);
    if (cached !== undefined) return cached;
    const responses = (operation(method, template)?.responses ?? {}) as Record<string, Json>;
    let response = responses[String(status)];
    let pointer: string[] = ["paths", template, method.toLowerCase(), "responses", String(status)];
    if (!response) {
      // Errors GitHub returns everywhere (401 bad credentials, 5xx) are not listed per operation;
      // they all share GitHub's basic error shape.
      if (status < 400) return "undocumented";
      const validate = ajv.compile({ $ref: `${SPEC_ID}${toFragment(["components", "schemas", "basic-error"])}` });
      compiled.set(key, validate);
      return validate;
    }
    const ref = response.$ref;
    if (typeof ref === "string") {
      const name = ref.replace("#/components/responses/", "");
      response = components.responses[name] ?? {};
      pointer = ["components", "responses", name];
    }
    const content = response.content as Record<string, { schema?: unknown }> | undefined;
    if (!content?.["application/json"]?.schema) {
      compiled.set(key, null);
      return null;
    }
    const validate = ajv.compile({
      $ref: `${SPEC_ID}${toFragment([...pointer, "content", "application/json", "schema"])}`,
    });
    compiled.set(key, validate);
    return validate;
  }

  return {
    validate(method, template, status, body) {
      const name = `${method.toUpperCase()} ${template} → ${status}`;
      if (!operation(method, template)) return `${name}: operation not in GitHub's OpenAPI description`;
      const validate = schemaFor(method.toUpperCase(), template, status);
      if (validate === "undocumented") return `${name}: status not documented for this operation`;
      if (validate === null || validate(body)) return null;
      const errors = (validate.errors ?? [])
        .slice(0, 10)
        .map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}${paramsText(e.params)}`);
      return `${name}: ${errors.join("; ")}`;
    },
    documentationUrl(method, template) {
      const docs = operation(method, template)?.externalDocs as { url?: string } | undefined;
      return docs?.url;
    },
  };
}

function paramsText(params: Record<string, unknown>): string {
  const shown = Object.entries(params).filter(([k]) => k !== "missingProperty");
  return shown.length ? ` (${shown.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ")})` : "";
}

/** A JSON pointer as a URI fragment, each segment escaped (paths hold "/" and "{}"). */
function toFragment(segments: string[]): string {
  return "#" + segments.map((s) => "/" + encodeURIComponent(s.replace(/~/g, "~0").replace(/\//g, "~1"))).join("");
}

/**
 * OpenAPI 3.0 marks null-able values with `nullable: true`, which JSON Schema lacks (and Ajv's own
 * support requires a sibling `type`, which GitHub's `oneOf`/`allOf` schemas do not have). Rewrite it
 * in place: `type: X` becomes `type: [X, "null"]`, anything else becomes `anyOf: [null, schema]`.
 */
function convertNullable(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) convertNullable(item);
    return;
  }
  if (!node || typeof node !== "object") return;
  const schema = node as Json;
  for (const value of Object.values(schema)) convertNullable(value);
  if (typeof schema.nullable !== "boolean") return;
  const nullable = schema.nullable;
  delete schema.nullable;
  if (!nullable) return;
  if (typeof schema.type === "string") {
    schema.type = [schema.type, "null"];
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum.push(null);
    return;
  }
  const constraining = ["oneOf", "anyOf", "allOf", "$ref", "enum", "properties", "required"];
  if (!Object.keys(schema).some((k) => constraining.includes(k))) return; // already accepts null
  const rest = { ...schema };
  for (const key of Object.keys(schema)) delete schema[key];
  schema.anyOf = [{ type: "null" }, rest];
}
