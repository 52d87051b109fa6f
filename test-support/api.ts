// A small client for the control plane's REST API, as a user's script would call it.
export interface ApiClient {
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Like request, but throws unless the status is 2xx. */
  ok<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export function apiClient(baseUrl: string, token: string): ApiClient {
  const request = async <T>(method: string, path: string, body?: unknown) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  return {
    request,
    async ok<T>(method: string, path: string, body?: unknown) {
      const response = await request<T>(method, path, body);
      if (response.status < 200 || response.status >= 300) {
        throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(response.body)}`);
      }
      return response.body;
    },
  };
}

/**
 * Re-reads a value until `done` accepts it: synchronisation on an observable fact, not a sleep.
 * Fails with the last value seen when the deadline passes.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs: number; what: string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${options.what}: still ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    last = await read();
  }
  return last;
}
