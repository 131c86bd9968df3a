/**
 * Short-lived stream tokens for `GET /events`: a browser's EventSource cannot send an
 * Authorization header, and a long-lived API token in a URL ends up in access logs. A stream token
 * is an HMAC over (token id, expiry): useless after its minute, and worth nothing without the
 * API token it was minted from still being live.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export interface StreamTokens {
  mint(tokenId: number, now: number): { token: string; expiresAt: number };
  /** The token id it was minted for, or undefined when forged or expired. */
  check(token: string, now: number): number | undefined;
}

export function createStreamTokens(secret: string | Uint8Array | undefined, ttlMs: number): StreamTokens {
  const key =
    secret === undefined ? randomBytes(32) : typeof secret === "string" ? Buffer.from(secret) : secret;
  const sign = (payload: string) => createHmac("sha256", key).update(payload).digest("base64url");
  return {
    mint(tokenId, now) {
      const expiresAt = now + ttlMs;
      const payload = `${tokenId}.${expiresAt}`;
      return { token: `${payload}.${sign(payload)}`, expiresAt };
    },
    check(token, now) {
      if (token.length > 200) return undefined;
      const match = /^(\d{1,15})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(token);
      if (!match) return undefined;
      const [, id, expiry, signature] = match;
      const expected = Buffer.from(sign(`${id}.${expiry}`));
      const given = Buffer.from(signature!);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
      if (Number(expiry) < now) return undefined;
      return Number(id);
    },
  };
}
