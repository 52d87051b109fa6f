// The typed API client: paths, parameters and answers come from schema.d.ts, generated from the
// control plane's OpenAPI description. Cookies go with every request; unsafe ones carry the CSRF
// token. A 401 signs the dashboard out.
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";
import { ApiError, csrfToken, errorOf, forgetSession } from "./session";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

let onUnauthenticated: () => void = () => {};
/** What to do when the API says the session is gone (the app sends the user to sign in). */
export function whenUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler;
}

const session: Middleware = {
  onRequest({ request }) {
    const token = csrfToken();
    if (!SAFE.has(request.method) && token) request.headers.set("x-csrf-token", token);
    return request;
  },
  async onResponse({ response }) {
    if (response.status === 401) {
      forgetSession();
      onUnauthenticated();
    }
    if (!response.ok) throw await errorOf(response.clone());
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(session);

/** The data of a successful answer (failures were thrown as ApiError by the middleware). */
export function dataOf<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) throw new ApiError(result.response.status, "empty answer");
  return result.data;
}

export { ApiError };
