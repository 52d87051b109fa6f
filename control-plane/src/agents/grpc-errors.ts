import { status, type ServiceError } from "@grpc/grpc-js";
import { Metadata } from "@grpc/grpc-js";

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
