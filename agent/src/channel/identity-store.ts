// The agent's identity after enrolment: its id, the control plane it belongs to and that control
// plane's CA, its private key and its certificate. One file, readable by root alone, replaced whole
// (write, then rename) so a crash never leaves a key beside a certificate for another key.
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface AgentIdentity {
  agentId: string;
  server: string;
  caCertificatePem: string;
  privateKeyPem: string;
  certificatePem: string;
}

const FILE = "identity.json";
/** The key generated for a join that has not completed yet: a retried join presents it again. */
const JOIN_KEY_FILE = "join-key.pem";

const FIELDS = ["agentId", "server", "caCertificatePem", "privateKeyPem", "certificatePem"] as const;

export async function loadIdentity(stateDir: string): Promise<AgentIdentity | undefined> {
  const path = join(stateDir, FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = {};
  }
  if (FIELDS.every((field) => typeof parsed[field] === "string")) return parsed as unknown as AgentIdentity;
  // An identity from before mutual TLS (a bearer credential) lands here too.
  throw new Error(`${path} is not a usable identity; delete it and join again with a new join token`);
}

export async function saveIdentity(stateDir: string, identity: AgentIdentity): Promise<void> {
  await writePrivate(stateDir, FILE, JSON.stringify(identity));
}

/** The key for a join in progress, if a previous attempt made one. */
export async function loadJoinKey(stateDir: string): Promise<string | undefined> {
  return readFile(join(stateDir, JOIN_KEY_FILE), "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
}

export async function saveJoinKey(stateDir: string, privateKeyPem: string): Promise<void> {
  await writePrivate(stateDir, JOIN_KEY_FILE, privateKeyPem);
}

export async function forgetJoinKey(stateDir: string): Promise<void> {
  await rm(join(stateDir, JOIN_KEY_FILE), { force: true });
}

async function writePrivate(stateDir: string, name: string, content: string): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, name);
  // A stale temporary file would keep whatever mode it had; start from none.
  await rm(`${path}.tmp`, { force: true });
  await writeFile(`${path}.tmp`, content, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}
