// `slipway-control-plane create-owner --email … --name … [--org …]`: the first owner from a shell.
// The password is read from stdin (one line; typed without echo on a terminal), never from argv,
// where other users of the host could read it. Same rule as POST /api/setup/owner: only while no
// user other than the bootstrap admin exists.
import { parseArgs } from "node:util";
import { createInterface } from "node:readline";
import { Writable, type Readable } from "node:stream";
import type { Db } from "../db/database.js";
import { DomainError } from "../errors.js";
import { createFirstOwner } from "./accounts.js";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./passwords.js";

export class CommandError extends Error {
  override name = "CommandError";
}

export const CREATE_OWNER_USAGE =
  "usage: slipway-control-plane create-owner --email <email> --name <name> [--org <organisation name>] (password on stdin)";

/** Reads one line from `input`; on a terminal, prompts on stderr without echoing what is typed. */
export async function readPassword(input: Readable & { isTTY?: boolean }): Promise<string> {
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  if (input.isTTY) process.stderr.write("password: ");
  const lines = createInterface({ input, output: muted, terminal: input.isTTY === true });
  try {
    for await (const line of lines) return line;
    return "";
  } finally {
    lines.close();
    if (input.isTTY) process.stderr.write("\n");
  }
}

export async function createOwnerCommand(db: Db, argv: string[], input: Readable): Promise<string> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { email: { type: "string" }, name: { type: "string" }, org: { type: "string" } },
      strict: true,
    }));
  } catch (error) {
    throw new CommandError(`create-owner: ${(error as Error).message}\n${CREATE_OWNER_USAGE}`);
  }
  const { email, name, org } = values;
  if (!email || !/^[^\s@]+@[^\s@]+$/.test(email) || !name) throw new CommandError(CREATE_OWNER_USAGE);
  const password = await readPassword(input);
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new CommandError(
      `create-owner: the password (read from stdin) must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`,
    );
  }
  try {
    const owner = await createFirstOwner(db, { email, name, password, ...(org ? { orgName: org } : {}) });
    return `create-owner: ${owner.user.email} is the owner of "${owner.org.name}"`;
  } catch (error) {
    if (error instanceof DomainError) throw new CommandError(`create-owner: ${error.message}`);
    throw error;
  }
}
