import type { FastifyError, FastifyInstance } from "fastify";
import { DomainError, type Problem } from "../errors.js";

/** The status each kind of domain refusal answers with. */
const STATUS: Record<Problem, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  "not-found": 404,
  conflict: 409,
  "too-many": 429,
  "lease-lost": 409,
  unprocessable: 422,
  unavailable: 503,
};

/** One error handler for the whole API: 4xx messages reach the client, 5xx details only the log. */
export function installErrorHandler(app: FastifyInstance, { spaFallback }: { spaFallback: boolean }): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof DomainError) {
      const status = STATUS[error.problem];
      return reply.status(status).send({ error: error.message, statusCode: status });
    }
    // octokit's RequestError: GitHub refused or failed a call we made on the user's behalf.
    const github = (error as { status?: unknown }).status;
    if (error.name === "HttpError" && typeof github === "number" && error.statusCode === undefined) {
      request.log.warn({ status: github }, "GitHub request failed");
      return reply.status(502).send({ error: `GitHub answered ${github}; try again`, statusCode: 502 });
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, "request failed");
      return reply.status(status).send({ error: "internal error", statusCode: status });
    }
    return reply.status(status).send({ error: error.message, statusCode: status });
  });
  app.setNotFoundHandler((request, reply) => {
    // The dashboard's own pages (/builds/…, /services/…) are the single-page app's to route. Never
    // under /api: an unknown API route stays a JSON 404, whatever the client accepts.
    const path = request.url.split("?")[0] ?? "";
    const api = path === "/api" || path.startsWith("/api/");
    if (spaFallback && request.method === "GET" && !api && request.headers.accept?.includes("text/html")) {
      return reply.sendFile("index.html");
    }
    return reply
      .status(404)
      .send({ error: `no route ${request.method} ${request.url.split("?")[0]}`, statusCode: 404 });
  });
}
