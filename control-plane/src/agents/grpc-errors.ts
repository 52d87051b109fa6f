// How the agent channel answers errors: a domain error (errors.ts) reaches the agent with the status
// code its problem maps to and its own message; anything else is our fault and becomes INTERNAL,
// its details kept in our log. The agent treats FAILED_PRECONDITION as "this work is no longer
// yours" (it stops the work), so only a lost lease or another protocol version may map to it.
import { status, type ServiceError } from "@grpc/grpc-js";
import { Metadata } from "@grpc/grpc-js";
import { DomainError, type Problem } from "../errors.js";

/** An error that reaches the agent with its own gRPC status code and message. */
export class RpcError extends Error implements Partial<ServiceError> {
  override name = "RpcError";
  readonly metadata = new Metadata();
  constructor(
    readonly code: status,
    readonly details: string,
  ) {
    super(details);
  }
}

export const unauthenticated = (why: string) => new RpcError(status.UNAUTHENTICATED, why);
export const invalidArgument = (why: string) => new RpcError(status.INVALID_ARGUMENT, why);
export const permissionDenied = (why: string) => new RpcError(status.PERMISSION_DENIED, why);

const CODES: Record<Problem, status> = {
  invalid: status.INVALID_ARGUMENT,
  unauthenticated: status.UNAUTHENTICATED,
  forbidden: status.PERMISSION_DENIED,
  "not-found": status.NOT_FOUND,
  conflict: status.ALREADY_EXISTS,
  unprocessable: status.INVALID_ARGUMENT,
  "too-many": status.RESOURCE_EXHAUSTED,
  "lease-lost": status.FAILED_PRECONDITION,
  unavailable: status.UNAVAILABLE,
};

/** The error to answer with, or undefined for an error of ours (answer INTERNAL and log it). */
export function rpcErrorFor(error: unknown): RpcError | undefined {
  if (error instanceof RpcError) return error;
  if (error instanceof DomainError) return new RpcError(CODES[error.problem], error.message);
  return undefined;
}
