// The agent's identity on its host: a key it generated and never sent, a certificate from the
// control plane's CA, both in one file only root can read, renewed long before it expires; and a
// join token that only works against the control plane whose CA it names.
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type ApiClient } from "../test-support/api.js";
import { isRunning } from "../test-support/host.js";
import { AGENT_MAIN, runToExit } from "../test-support/processes.js";
import { startSlowBuildStack, type Build, type SlowBuildStack } from "../test-support/slow-build.js";

interface AgentView {
  id: string;
  certificateSerial: string | null;
  certificateExpiresAt: string | null;
}

/** Runs the agent binary to its end; returns its exit code and everything it printed. */
async function runAgent(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const { code, stdout, stderr } = await runToExit(AGENT_MAIN, args, env);
  return { code, output: stdout + stderr };
}

describe("agent certificates", () => {
  let stack: SlowBuildStack;
  let api: ApiClient;

  beforeAll(async () => {
    // Six-second certificates: the agent renews after four, so the test sees several rotations.
    stack = await startSlowBuildStack({ controlPlaneEnv: { AGENT_CERTIFICATE_SECONDS: "6" } });
    api = stack.apis[0] as ApiClient;
  });

  afterAll(() => stack?.close());

  const stateDir = () => stack.agentEnv.SLIPWAY_STATE_DIR as string;
  const storedCertificate = async () =>
    new X509Certificate(
      (JSON.parse(await readFile(join(stateDir(), "identity.json"), "utf8")) as { certificatePem: string })
        .certificatePem,
    );

  it("keeps its key and certificate readable by root alone, and never writes the join token down", async () => {
    expect((await stat(stateDir())).mode & 0o777).toBe(0o700);
    expect((await stat(join(stateDir(), "identity.json"))).mode & 0o777).toBe(0o600);
    expect(await readdir(stateDir())).not.toContain("join-key.pem");
    const identity = await readFile(join(stateDir(), "identity.json"), "utf8");
    const secret = stack.joinToken.split(".")[0] as string;
    expect(identity).not.toContain(secret);
    expect(stack.agent.lines.join("\n")).not.toContain(secret);
  });

  it("renews its certificate before it expires, and keeps working on the renewed one", async () => {
    const first = await storedCertificate();
    const renewals = () => stack.agent.lines.filter((line) => line.includes("certificate renewed")).length;
    // Two renewals: the second is itself a call made with the first renewed certificate, after the
    // original certificate has expired.
    await eventually(
      async () => renewals(),
      (count) => count >= 2,
      { timeoutMs: 30_000, what: "two certificate renewals" },
    );
    expect(Date.parse(first.validTo)).toBeLessThan(Date.now());
    const current = await storedCertificate();
    expect(current.serialNumber).not.toBe(first.serialNumber);
    expect(current.publicKey.export({ format: "pem", type: "spki" })).not.toBe(
      first.publicKey.export({ format: "pem", type: "spki" }),
    );
    // Operators see the rotation too.
    const [agent] = await api.ok<AgentView[]>("GET", "/api/agents");
    expect(agent?.certificateSerial?.toUpperCase()).not.toBe(first.serialNumber.toUpperCase());
    expect(Date.parse(agent?.certificateExpiresAt ?? "")).toBeGreaterThan(Date.parse(first.validTo));

    // Work still flows over the renewed certificates: a build is claimed and runs, and a cancel
    // reaches it.
    const build = await api.ok<Build>("POST", `/api/services/${stack.serviceId}/builds`);
    await eventually(
      () => isRunning(stack.sleeper),
      (alive) => alive,
      { timeoutMs: 120_000, what: "the RUN step" },
    );
    await api.ok("POST", `/api/builds/${build.id}/cancel`);
    const done = await eventually(
      () => api.ok<Build>("GET", `/api/builds/${build.id}`),
      (b) => b.status === "cancelled",
      { timeoutMs: 60_000, what: "the cancelled build" },
    );
    expect(done.attempt).toBe(1);
    expect(stack.agent.lines.join("\n")).not.toContain("UNAUTHENTICATED");
  });

  it("refuses to join when the server does not hold the CA its join token names", async () => {
    const other = await mkdtemp(join(tmpdir(), "slipway-wrong-pin-"));
    try {
      const [secret] = stack.joinToken.split(".");
      const forged = `${secret}.${"A".repeat(43)}`;
      const result = await runAgent(["run"], {
        SLIPWAY_SERVER: stack.agentEnv.SLIPWAY_SERVER as string,
        SLIPWAY_STATE_DIR: other,
        SLIPWAY_JOIN_TOKEN: forged,
      });
      expect(result.code).toBe(1);
      expect(result.output).toContain("did not present the certificate authority named in the join token");
      expect(result.output).not.toContain(secret);
      // It gave up before sending the token anywhere, and stored no identity.
      expect(await readdir(other).catch(() => [])).not.toContain("identity.json");
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it("joins with `slipway-agent join` and exits, ready to run", async () => {
    const dir = await mkdtemp(join(tmpdir(), "slipway-join-"));
    try {
      const { joinToken } = await api.ok<{ joinToken: string }>("POST", "/api/agents", {
        name: "joined-only",
        capabilities: ["deploy"],
      });
      const result = await runAgent(["join"], {
        SLIPWAY_SERVER: stack.agentEnv.SLIPWAY_SERVER as string,
        SLIPWAY_STATE_DIR: dir,
        SLIPWAY_JOIN_TOKEN: joinToken,
      });
      expect(result.code, result.output).toBe(0);
      expect(result.output).toContain('"msg":"enrolled"');
      expect((await stat(join(dir, "identity.json"))).mode & 0o777).toBe(0o600);
      const agents = await api.ok<(AgentView & { name: string; enrolledAt: string | null })[]>("GET", "/api/agents");
      expect(agents.find((a) => a.name === "joined-only")?.enrolledAt).not.toBeNull();
      // An unknown command changes nothing and says how to call it.
      const wrong = await runAgent(["jion"], { SLIPWAY_SERVER: "127.0.0.1:1", SLIPWAY_STATE_DIR: dir });
      expect(wrong).toMatchObject({ code: 1 });
      expect(wrong.output).toContain("usage: slipway-agent [run|join]");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
