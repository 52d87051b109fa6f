// Passwords hashed with argon2id (memory-hard). Parameters: OWASP's first recommendation
// (m=19 MiB, t=2, p=1), about 30 ms per hash on the dev box; the PHC string records them, so raising
// them later still verifies old hashes.
import { hash, verify } from "@node-rs/argon2";

const OPTIONS = {
  algorithm: 2 /* Algorithm.Argon2id, a const enum */,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 256;

export const hashPassword = (password: string): Promise<string> => hash(password, OPTIONS);

// A fixed hash verified when the email is unknown, so a wrong email costs as long as a wrong password.
let decoy: Promise<string> | undefined;

/** Whether the password matches; with no hash (unknown user), spends the same time and says no. */
export async function verifyPassword(passwordHash: string | null, password: string): Promise<boolean> {
  if (passwordHash === null) {
    decoy ??= hashPassword("decoy password that matches nothing");
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  return verify(passwordHash, password).catch(() => false);
}
