// Errors the HTTP layer itself throws (authentication, CSRF, request shapes only a route knows):
// their messages go to the client verbatim, so they must never contain secrets. Domain code throws
// errors.ts's DomainError instead; error-handler.ts answers both.
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new HttpError(400, message);
export const unauthorized = (message = "authentication required") => new HttpError(401, message);
