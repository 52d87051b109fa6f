// String patterns for input from any side (route schemas, the agent channel). Every free-text field
// forbids NUL, which PostgreSQL refuses, so that such input gets a clear refusal rather than a 500.

/** A canonical UUID (ajv's "uuid" format also accepts "urn:uuid:", which PostgreSQL does not). */
export const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/** A lowercase DNS-label-like name for projects, services and agents. */
export const NAME_PATTERN = "^[a-z0-9][a-z0-9-]*$";

/** An http(s) URL with no credentials, query or fragment (they would end up in logs and argv). */
export const GIT_URL_PATTERN = "^https?://[^/@\\s\\u0000]+/[^\\s?#\\u0000]+$";

/** A git branch name: no whitespace, no characters git forbids, no NUL. */
export const BRANCH_PATTERN = "^[^\\s~^:?*\\[\\\\\\u0000]+$";

/** A relative path inside a repository: not absolute, no `..` segment, no NUL. */
export const REPO_PATH_PATTERN = "^(?!/)(?!.*(^|/)\\.\\.(/|$))[^\\u0000]*$";

/** Text without NUL. */
export const TEXT_PATTERN = "^[^\\u0000]*$";

/** Removes NUL and other control characters (but newlines and tabs) from text an agent reports. */
export function sanitizeText(text: string, maxLength: number): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, "").slice(0, maxLength);
}
