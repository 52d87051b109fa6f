// Seals secrets kept in the database (the agent channel CA's key, the GitHub App's private key, client
// and webhook secrets, services' environment variables) with AES-256-GCM under SLIPWAY_SECRET_KEY.
// Layout: version byte, 12-byte nonce, 16-byte tag, ciphertext.
//
// Key rotation: a box seals under its current key and opens with the current key, then each previous
// one (SLIPWAY_SECRET_KEY_PREVIOUS). `slipway-control-plane rotate-secrets` (crypto/rotate-secrets.ts)
// re-seals every stored value under the current key, after which the previous keys can be dropped.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { Config } from "../config.js";

const VERSION = 1;
/** How many previous keys a box accepts. */
export const MAX_PREVIOUS_KEYS = 8;

export class SecretBoxError extends Error {
  override name = "SecretBoxError";
}

const keyOf = (base64Key: string): Buffer => {
  const key = Buffer.from(base64Key, "base64");
  if (key.length !== 32) throw new SecretBoxError("secret box: the key must be 32 bytes");
  return key;
};

export class SecretBox {
  private readonly key: Buffer;
  private readonly previous: Buffer[];

  /** `previousKeys`: keys values may still be sealed under (base64, 32 bytes each), tried in order. */
  constructor(base64Key: string, previousKeys: readonly string[] = []) {
    this.key = keyOf(base64Key);
    if (previousKeys.length > MAX_PREVIOUS_KEYS)
      throw new SecretBoxError(`secret box: at most ${MAX_PREVIOUS_KEYS} previous keys`);
    this.previous = previousKeys.map(keyOf);
  }

  seal(plaintext: string): Buffer {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), nonce, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer): string {
    for (const key of [this.key, ...this.previous]) {
      const opened = openWith(key, sealed);
      if (opened !== undefined) return opened;
    }
    throw new SecretBoxError("secret box: cannot open (wrong SLIPWAY_SECRET_KEY, or the data was altered)");
  }

  /** Whether `sealed` is sealed under the current key (a rotation leaves such values as they are). */
  isCurrent(sealed: Buffer): boolean {
    return openWith(this.key, sealed) !== undefined;
  }
}

function openWith(key: Buffer, sealed: Buffer): string | undefined {
  if (sealed.length < 29 || sealed[0] !== VERSION) throw new SecretBoxError("secret box: unknown format");
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(1, 13));
  decipher.setAuthTag(sealed.subarray(13, 29));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString("utf8");
  } catch {
    return undefined;
  }
}

/** The box every part of a control plane seals and opens with. */
export function secretBoxOf(config: Pick<Config, "SLIPWAY_SECRET_KEY" | "SLIPWAY_SECRET_KEY_PREVIOUS">): SecretBox {
  return new SecretBox(config.SLIPWAY_SECRET_KEY, config.SLIPWAY_SECRET_KEY_PREVIOUS);
}
