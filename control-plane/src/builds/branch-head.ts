// Resolves a branch to its head commit with `git ls-remote`, for builds triggered by hand.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { unprocessable } from "../errors.js";

const run = promisify(execFile);

export async function resolveBranchHead(gitUrl: string, branch: string): Promise<string> {
  try {
    const { stdout } = await run("git", ["ls-remote", "--", gitUrl, `refs/heads/${branch}`], {
      timeout: 15_000,
      // A minimal environment: git must not see the control plane's secrets, nor prompt for any.
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: "/nonexistent",
        GIT_TERMINAL_PROMPT: "0",
        GIT_ASKPASS: "/bin/false",
      },
    });
    const sha = stdout.split("\t")[0]?.trim();
    if (sha && /^[0-9a-f]{40}$/.test(sha)) return sha;
  } catch {
    throw unprocessable(`could not read branch ${branch} from the service's repository`);
  }
  throw unprocessable(`branch ${branch} does not exist in the service's repository`);
}
