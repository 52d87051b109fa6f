// A git smart-HTTP server for tests: Node's http server in front of `git http-backend` (CGI), serving
// bare repositories under one directory, like a code host would.
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface GitServer {
  /** http://127.0.0.1:PORT, to which a repository's path (e.g. /app.git) is appended. */
  url: string;
  close(): Promise<void>;
}

export interface GitServerOptions {
  /**
   * When given, each request is allowed only if this accepts the repository (its path, e.g.
   * /owner/name.git) and the password of the request's HTTP Basic auth (undefined when there is
   * none), as GitHub takes `x-access-token:<token>`. Refused requests get 401 with a Basic
   * challenge, which git without a terminal turns into a clean failure.
   */
  authorize?: (repoPath: string, token: string | undefined) => boolean;
}

export async function startGitServer(projectRoot: string, options: GitServerOptions = {}): Promise<GitServer> {
  const { authorize } = options;
  const server = createServer((req, res) => {
    if (authorize && !authorize(repositoryPath(req), basicPassword(req))) {
      req.resume(); // drain what git sends before answering
      res.writeHead(401, { "www-authenticate": 'Basic realm="GitHub"', "content-type": "text/plain" });
      res.end("Invalid username or token. Password authentication is not supported for Git operations.\n");
      return;
    }
    serve(projectRoot, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The repository a smart-HTTP request is for: its path up to ".git" (/o/n.git/info/refs → /o/n.git). */
function repositoryPath(req: IncomingMessage): string {
  const path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
  const repo = /^(.*?\.git)(?:\/|$)/.exec(path)?.[1];
  return repo ?? path.replace(/\/(info\/refs|git-upload-pack|git-receive-pack|HEAD|objects\/.*)$/, "");
}

/** The password of HTTP Basic credentials; git sends the token there (any username). */
function basicPassword(req: IncomingMessage): string | undefined {
  const [scheme, encoded] = (req.headers.authorization ?? "").split(" ", 2);
  if (scheme?.toLowerCase() !== "basic" || !encoded) return undefined;
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

function serve(projectRoot: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://localhost");
  const child = spawn("git", ["http-backend"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? "GET",
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
      HTTP_GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
      REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
      // Like GitHub: a client may fetch any commit by its id.
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: "uploadpack.allowAnySHA1InWant",
      GIT_CONFIG_VALUE_0: "true",
    },
    stdio: ["pipe", "pipe", "ignore"],
  });
  req.pipe(child.stdin);
  let head = Buffer.alloc(0);
  let headersSent = false;
  child.stdout.on("data", (chunk: Buffer) => {
    if (headersSent) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end === -1) return;
    let status = 200;
    for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
      else if (name) res.setHeader(name, value);
    }
    res.statusCode = status;
    headersSent = true;
    res.write(head.subarray(end + 4));
  });
  child.on("close", () => {
    if (!headersSent) res.statusCode = 500;
    res.end();
  });
  child.on("error", () => {
    res.statusCode = 500;
    res.end();
  });
}
