// Errors the domain throws. Each says what went wrong in words the caller can act on, and must never
// carry a secret: the HTTP layer (http/error-handler.ts) and the gRPC adapter (agents/grpc-errors.ts)
// pass the message on and choose the status code from `problem`. Anything else that escapes is a
// fault of ours: a 5xx / INTERNAL whose details stay in the log.

/** What kind of refusal an error is; each transport maps it to its own status code. */
export type Problem =
  | "invalid" // the request itself is malformed
  | "unauthenticated" // who is calling could not be established
  | "forbidden" // the caller may not do this
  | "not-found"
  | "conflict" // the thing exists, or is in a state that does not allow this
  | "unprocessable" // well-formed, but what it points at cannot be used (a branch that does not exist)
  | "too-many" // a limit on concurrent use is reached: try again later
  | "lease-lost" // an agent wrote about work it no longer holds: it must stop that work
  | "unavailable"; // try again shortly

export class DomainError extends Error {
  override name = "DomainError";
  constructor(
    readonly problem: Problem,
    message: string,
  ) {
    super(message);
  }
}

/** The caller's lease on a work item is gone: it must stop the work and write nothing more. */
export class LeaseLostError extends DomainError {
  override name = "LeaseLostError";
  constructor(readonly workId: string) {
    super("lease-lost", `lease lost on ${workId}: the work was re-queued, cancelled or finished elsewhere`);
  }
}

export const invalid = (message: string) => new DomainError("invalid", message);
export const forbidden = (message: string) => new DomainError("forbidden", message);
export const notFound = (what: string) => new DomainError("not-found", `${what} not found`);
export const conflict = (message: string) => new DomainError("conflict", message);
export const unprocessable = (message: string) => new DomainError("unprocessable", message);
export const unavailable = (message: string) => new DomainError("unavailable", message);

/** Postgres unique_violation, for turning a duplicate name into a conflict. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "23505";
}
