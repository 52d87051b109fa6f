import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ProcessError, runProcess } from "./process.js";

const run = promisify(execFile);

/** Whether any process whose command line contains `marker` is alive. */
async function alive(marker: string): Promise<boolean> {
  const { stdout } = await run("ps", ["-eo", "args"]);
  return stdout.split("\n").some((line) => line.includes(marker) && !line.includes("ps -eo"));
}

describe("runProcess", () => {
  it("streams output and resolves on exit 0", async () => {
    const output: string[] = [];
    await runProcess("sh", ["-c", "echo out; echo err >&2"], { onOutput: (c) => output.push(c.toString()) });
    expect(output.join("")).toContain("out");
    expect(output.join("")).toContain("err");
  });

  it("rejects with the exit code in words", async () => {
    await expect(runProcess("sh", ["-c", "exit 3"], { label: "the step" })).rejects.toThrow(
      "the step exited with code 3",
    );
  });

  it("stops the whole process group on abort, including children that ignore SIGTERM", async () => {
    // A sleep whose argument is unique to this run, so ps can find it (GNU sleep takes fractions).
    const marker = `1${process.pid}.${Date.now()}`;
    const controller = new AbortController();
    let ready!: () => void;
    const started = new Promise<void>((resolve) => (ready = resolve));
    // A shell that starts a background child ignoring SIGTERM, then waits for it.
    const result = runProcess("sh", ["-c", `trap '' TERM; (trap '' TERM; exec sleep ${marker}) & echo ready; wait`], {
      signal: controller.signal,
      killGraceMs: 200,
      onOutput: (chunk) => {
        if (chunk.toString().includes("ready")) ready();
      },
    }).then(
      () => "resolved",
      (error: unknown) => error,
    );
    await started;
    expect(await alive(marker)).toBe(true);
    controller.abort();
    const error = await result;
    expect(error).toBeInstanceOf(ProcessError);
    expect((error as ProcessError).message).toBe("sh was stopped");
    expect(await alive(marker)).toBe(false);
  });

  it("never passes the agent's own environment to the command", async () => {
    process.env.SLIPWAY_TEST_SECRET = "do-not-leak";
    const output: string[] = [];
    await runProcess("sh", ["-c", "env"], { env: { EXTRA: "1" }, onOutput: (c) => output.push(c.toString()) });
    delete process.env.SLIPWAY_TEST_SECRET;
    expect(output.join("")).not.toContain("do-not-leak");
    expect(output.join("")).toContain("EXTRA=1");
  });
});
