// Fetches exactly one commit of a repository into an empty directory.
import type { GitCredentials } from "../work.js";
import { runProcess, type RunOptions } from "./process.js";

const GIT_ENV = {
  GIT_TERMINAL_PROMPT: "0", // never wait for a password
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_ASKPASS: "/bin/false",
};

/**
 * Credentials travel to git as an HTTP header set through the environment (GIT_CONFIG_*), scoped to
 * the repository's URL: never in argv, never in the remote URL, never in .git/config.
 */
function credentialEnv(gitUrl: string, credentials: GitCredentials | undefined): Record<string, string> {
  if (!credentials) return {};
  return {
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: `http.${gitUrl}.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${credentialHeaderSecret(credentials)}`,
  };
}

/** The encoded form of the credentials, masked in logs like the token itself. */
export function credentialHeaderSecret(credentials: GitCredentials): string {
  return Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64");
}

export async function checkoutCommit(
  dir: string,
  gitUrl: string,
  commitSha: string,
  branch: string,
  options: Pick<RunOptions, "signal" | "onOutput" | "killGraceMs" | "registry"> & {
    credentials?: GitCredentials | undefined;
  },
): Promise<void> {
  const { credentials, ...run } = options;
  const env = { ...GIT_ENV, ...credentialEnv(gitUrl, credentials) };
  const git = (args: string[], label: string) => runProcess("git", args, { ...run, cwd: dir, env, label });
  await git(["init", "--quiet"], "git init");
  await git(["remote", "add", "origin", gitUrl], "git remote add");
  try {
    // Servers that allow fetching a commit by id (GitHub does) send just that commit.
    await git(["fetch", "--depth=1", "origin", commitSha], "git fetch");
  } catch (error) {
    if (options.signal?.aborted) throw error;
    // Otherwise fetch the branch and find the commit in its history.
    await git(["fetch", "origin", `+refs/heads/${branch}:refs/remotes/origin/${branch}`], "git fetch");
  }
  await git(["-c", "advice.detachedHead=false", "checkout", "--quiet", commitSha], "git checkout");
}
