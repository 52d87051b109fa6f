// Seals secrets kept in the database (the GitHub App's private key, client and webhook secrets) with
// AES-256-GCM under SLIPWAY_SECRET_KEY. Layout: version byte, 12-byte nonce, 16-byte tag, ciphertext.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const VERSION = 1;

export class SecretBoxError extends Error {
  override name = "SecretBoxError";
}

export class SecretBox {
  private readonly key: Buffer;

  constructor(base64Key: string) {
    this.key = Buffer.from(base64Key, "base64");
    if (this.key.length !== 32) throw new SecretBoxError("secret box: the key must be 32 bytes");
  }

  seal(plaintext: string): Buffer {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), nonce, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer): string {
    if (sealed.length < 29 || sealed[0] !== VERSION) throw new SecretBoxError("secret box: unknown format");
    const decipher = createDecipheriv("aes-256-gcm", this.key, sealed.subarray(1, 13));
    decipher.setAuthTag(sealed.subarray(13, 29));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString("utf8");
    } catch {
      throw new SecretBoxError("secret box: cannot open (wrong SLIPWAY_SECRET_KEY, or the data was altered)");
    }
  }
}
