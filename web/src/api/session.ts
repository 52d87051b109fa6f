// Browser sign-in. POST /api/session sets an httpOnly session cookie (JavaScript never sees it)
// and answers the CSRF token that unsafe requests must carry in X-CSRF-Token. Today it takes the
// bootstrap token ({token}); with local accounts it also takes {email, password}. Where
// GET /api/session exists it tells who is signed in and gives the CSRF token again (a reload keeps
// the session); without it the token is kept in sessionStorage (this tab only, gone on close).

export type Credentials = { token: string } | { email: string; password: string };

export interface Session {
  csrfToken: string;
  /** Who is signed in, when the control plane says (GET /api/session). */
  user?: { id?: string; email?: string; name?: string } | null;
  org?: { id?: string; name?: string } | null;
  role?: string | null;
}

const STORAGE_KEY = "slipway.csrfToken";

let current: Session | null = null;

export function csrfToken(): string | null {
  return current?.csrfToken ?? sessionStorage.getItem(STORAGE_KEY);
}

/** An answer the API gave with its message (`{error, statusCode}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export async function errorOf(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { error?: unknown };
    if (typeof body.error === "string") message = body.error;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message);
}

function remember(session: Session | null): Session | null {
  current = session;
  if (session) sessionStorage.setItem(STORAGE_KEY, session.csrfToken);
  else sessionStorage.removeItem(STORAGE_KEY);
  return session;
}

export async function signIn(credentials: Credentials): Promise<Session> {
  const response = await fetch("/api/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(credentials),
  });
  if (!response.ok) throw await errorOf(response);
  const answer = (await response.json()) as Session;
  // Who we are, if the control plane can say; the CSRF token is all that is needed otherwise.
  const session = (await describeSession()) ?? { csrfToken: answer.csrfToken };
  remember(session);
  return session;
}

/** GET /api/session where it exists; null when signed out, undefined when the route is missing. */
async function describeSession(): Promise<Session | null | undefined> {
  const response = await fetch("/api/session", { credentials: "same-origin", headers: { accept: "application/json" } });
  if (response.status === 404 || response.status === 405) return undefined;
  if (response.status === 401) return null;
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as Session;
}

/** The session this browser holds, or null when it must sign in. */
export async function loadSession(): Promise<Session | null> {
  const described = await describeSession();
  if (described !== undefined) return remember(described);
  const stored = sessionStorage.getItem(STORAGE_KEY);
  if (!stored) return remember(null);
  // The cookie may have expired: one cheap authenticated read tells.
  const probe = await fetch("/api/projects", { credentials: "same-origin" });
  if (probe.status === 401) return remember(null);
  return remember({ csrfToken: stored });
}

export async function signOut(): Promise<void> {
  const token = csrfToken();
  await fetch("/api/session", {
    method: "DELETE",
    credentials: "same-origin",
    headers: token ? { "x-csrf-token": token } : {},
  });
  remember(null);
}

/** Forgets the session after the API answered 401 (expired or signed out elsewhere). */
export function forgetSession(): void {
  remember(null);
}
