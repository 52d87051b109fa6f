// GitHub signs each webhook with HMAC-SHA256 over the exact bytes of the body. Verify over those
// bytes (not a re-serialised or re-decoded copy) and compare in constant time.
import { createHmac, timingSafeEqual } from "node:crypto";

const SIGNATURE_PATTERN = /^sha256=([0-9a-f]{64})$/;

export function isValidSignature(secret: string, rawBody: Buffer, header: string | undefined): boolean {
  const match = header ? SIGNATURE_PATTERN.exec(header) : null;
  if (!match?.[1]) return false;
  const expected = createHmac("sha256", secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(match[1], "hex"));
}
