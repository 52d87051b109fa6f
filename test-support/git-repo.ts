// A bare repository with a working copy beside it, for tests that push commits.
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestRepo {
  /** Path of the bare repository relative to the git server's root, e.g. /app.git. */
  path: string;
  /** Writes files, commits them on the branch and pushes; returns the commit sha. */
  commit(files: Record<string, string>, message: string): Promise<string>;
}

export async function createRepo(root: string, name: string, branch = "main"): Promise<TestRepo> {
  const bare = join(root, `${name}.git`);
  const work = join(root, `${name}-work`);
  const git = (cwd: string, ...args: string[]) =>
    run("git", ["-c", "user.name=Slipway Test", "-c", "user.email=test@slipway.invalid", ...args], { cwd });
  await mkdir(bare, { recursive: true });
  await git(bare, "init", "--bare", "--quiet", `--initial-branch=${branch}`);
  await mkdir(work, { recursive: true });
  await git(work, "init", "--quiet", `--initial-branch=${branch}`);
  await git(work, "remote", "add", "origin", bare);
  return {
    path: `/${name}.git`,
    async commit(files, message) {
      for (const [file, content] of Object.entries(files)) {
        await mkdir(dirname(join(work, file)), { recursive: true });
        await writeFile(join(work, file), content);
      }
      await git(work, "add", "--all");
      await git(work, "commit", "--quiet", "-m", message);
      await git(work, "push", "--quiet", "origin", branch);
      const { stdout } = await git(work, "rev-parse", "HEAD");
      return stdout.trim();
    },
  };
}
