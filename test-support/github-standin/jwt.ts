// GitHub App JWTs (RS256), signed and checked with node:crypto as GitHub documents them:
// https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
import { createSign, createVerify, type KeyObject } from "node:crypto";

const base64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

export interface JwtTimes {
  /** Unix seconds; default 60 s ago, as GitHub recommends against clock drift. */
  issuedAt?: number;
  /** Unix seconds; default issuedAt + 600 (GitHub's maximum lifetime). */
  expiresAt?: number;
}

/** Signs an app JWT the way Octokit does: RS256, iss = the app id (or client id). */
export function signAppJwt(appId: number | string, privateKeyPem: string, times: JwtTimes = {}): string {
  const iat = times.issuedAt ?? Math.floor(Date.now() / 1000) - 60;
  const exp = times.expiresAt ?? iat + 600;
  const unsigned = `${base64url(JSON.stringify({ alg: "RS256", typ: "JWT" }))}.${base64url(
    JSON.stringify({ iat, exp, iss: appId }),
  )}`;
  const signature = createSign("RSA-SHA256").update(unsigned).sign(privateKeyPem);
  return `${unsigned}.${base64url(signature)}`;
}

export type JwtCheck = { ok: true; issuer: string } | { ok: false; message: string };

const UNDECODABLE = "A JSON web token could not be decoded";

/**
 * Verifies an app JWT. `keyFor` maps the `iss` claim to the app's public key. The messages are the
 * ones GitHub answers with (401) for each problem.
 */
export function verifyAppJwt(token: string, keyFor: (issuer: string) => KeyObject | undefined): JwtCheck {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, message: UNDECODABLE };
  const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
  let header: { alg?: unknown };
  let claims: { iss?: unknown; iat?: unknown; exp?: unknown };
  try {
    header = JSON.parse(Buffer.from(headerPart, "base64url").toString("utf8")) as typeof header;
    claims = JSON.parse(Buffer.from(claimsPart, "base64url").toString("utf8")) as typeof claims;
  } catch {
    return { ok: false, message: UNDECODABLE };
  }
  if (header.alg !== "RS256") return { ok: false, message: UNDECODABLE };
  if (typeof claims.iss !== "string" && typeof claims.iss !== "number") {
    return { ok: false, message: "'Issuer' claim ('iss') must be an Integer" };
  }
  const issuer = String(claims.iss);
  const key = keyFor(issuer);
  if (!key) return { ok: false, message: UNDECODABLE };
  const signatureOk = createVerify("RSA-SHA256")
    .update(`${headerPart}.${claimsPart}`)
    .verify(key, Buffer.from(signaturePart, "base64url"));
  if (!signatureOk) return { ok: false, message: UNDECODABLE };

  const now = Math.floor(Date.now() / 1000);
  const { iat, exp } = claims;
  // GitHub tolerates a minute of clock drift on iat, and JWTs living at most ten minutes.
  if (typeof iat !== "number" || iat > now + 60) {
    return {
      ok: false,
      message: "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.",
    };
  }
  if (typeof exp !== "number" || exp <= now || exp <= iat) {
    return {
      ok: false,
      message:
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.",
    };
  }
  if (exp > now + 600 || exp - iat > 660) {
    return { ok: false, message: "'Expiration time' claim ('exp') is too far in the future." };
  }
  return { ok: true, issuer };
}
