// The agent's identity after enrolment, kept in one file readable by root alone.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface AgentIdentity {
  agentId: string;
  credential: string;
  server: string;
}

const FILE = "identity.json";

export async function loadIdentity(stateDir: string): Promise<AgentIdentity | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(stateDir, FILE), "utf8")) as Partial<AgentIdentity>;
    if (
      typeof parsed.agentId === "string" &&
      typeof parsed.credential === "string" &&
      typeof parsed.server === "string"
    ) {
      return { agentId: parsed.agentId, credential: parsed.credential, server: parsed.server };
    }
    throw new Error(`${join(stateDir, FILE)} is malformed; delete it and join again`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export async function saveIdentity(stateDir: string, identity: AgentIdentity): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, FILE);
  // Write-then-rename so a crash never leaves half an identity behind.
  await writeFile(`${path}.tmp`, JSON.stringify(identity), { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}
