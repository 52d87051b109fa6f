// A client of one Caddy's admin API (http://host:port or unix:/path/to/socket). Slipway changes only
// its own server object, through the API, so Caddy applies it in place without dropping the
// connections it serves; nothing rewrites a file or reloads Caddy.
import { request } from "node:http";
import { isDeepStrictEqual } from "node:util";
import { SLIPWAY_SERVER } from "./caddy-config.js";

export class CaddyAdminError extends Error {
  override name = "CaddyAdminError";
}

interface Target {
  socketPath?: string;
  host?: string;
  port?: number;
}

/** `unix:/run/caddy/admin.sock` or `http://127.0.0.1:2019`. */
export function parseAdminAddress(address: string): Target {
  if (address.startsWith("unix:")) return { socketPath: address.slice("unix:".length) };
  const url = new URL(address);
  if (url.protocol !== "http:")
    throw new CaddyAdminError(`a Caddy admin address is http:// or unix:, not ${url.protocol}`);
  return { host: url.hostname, port: Number(url.port || 80) };
}

const isMissingPath = (error: unknown) =>
  error instanceof CaddyAdminError && /invalid traversal path/.test(error.message);

export class CaddyAdmin {
  private readonly target: Target;

  constructor(readonly address: string) {
    this.target = parseAdminAddress(address);
  }

  /** Resolves when the admin API answers. */
  async ping(): Promise<void> {
    await this.call("GET", "/config/");
  }

  /** Makes Slipway's server what `server` says; does nothing when it already is. */
  async apply(server: Record<string, unknown>): Promise<"changed" | "unchanged"> {
    const current = await this.call("GET", `/config/apps/http/servers/${SLIPWAY_SERVER}`).catch((error: unknown) => {
      if (isMissingPath(error)) return null; // a fresh Caddy: no http app yet
      throw error;
    });
    if (isDeepStrictEqual(current, server)) return "unchanged";
    // POST sets the object at a path whose parent exists; on a fresh Caddy the parents are missing,
    // so the nearest existing ancestor gets the nested value.
    const path = ["apps", "http", "servers", SLIPWAY_SERVER];
    for (let depth = path.length; depth >= 1; depth--) {
      const value = path.slice(depth).reduceRight<unknown>((inner, key) => ({ [key]: inner }), server);
      try {
        await this.call("POST", `/config/${path.slice(0, depth).join("/")}`, value);
        return "changed";
      } catch (error) {
        if (!isMissingPath(error) || depth === 1) throw error;
      }
    }
    throw new CaddyAdminError("unreachable");
  }

  private call(method: string, path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          ...this.target,
          method,
          path,
          // Caddy checks the Host of admin requests; over a unix socket it allows "localhost".
          headers: {
            host: this.target.socketPath ? "localhost" : `${this.target.host}:${this.target.port}`,
            ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
          },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if ((res.statusCode ?? 500) >= 400) {
              reject(
                new CaddyAdminError(`Caddy at ${this.address} refused ${method} ${path}: ${text.trim().slice(0, 500)}`),
              );
              return;
            }
            try {
              resolve(text.trim() ? JSON.parse(text) : null);
            } catch {
              resolve(null);
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new CaddyAdminError(`Caddy at ${this.address} did not answer`)));
      req.on("error", (error) =>
        reject(
          error instanceof CaddyAdminError ? error : new CaddyAdminError(`Caddy at ${this.address}: ${error.message}`),
        ),
      );
      req.end(payload);
    });
  }
}
