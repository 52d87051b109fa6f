// Fetches exactly one commit of a repository into an empty directory.
import { runProcess, type RunOptions } from "./process.js";

const GIT_ENV = {
  GIT_TERMINAL_PROMPT: "0", // never wait for a password
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_ASKPASS: "/bin/false",
};

export async function checkoutCommit(
  dir: string,
  gitUrl: string,
  commitSha: string,
  branch: string,
  options: Pick<RunOptions, "signal" | "onOutput" | "killGraceMs">,
): Promise<void> {
  const git = (args: string[], label: string) => runProcess("git", args, { ...options, cwd: dir, env: GIT_ENV, label });
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
