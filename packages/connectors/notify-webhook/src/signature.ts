/**
 * The `X-Runwarden-Signature` scheme: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
 * keyed with the webhook's shared secret. A receiver recomputes it over the raw body it got and
 * refuses a timestamp outside its tolerance (replays).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The header carrying the signature. */
export const signatureHeader = "X-Runwarden-Signature";

/** Signs `body` at `timestampSec`; returns the header's value. */
export function signWebhook(secret: string, body: string, timestampSec: number): string {
  const mac = createHmac("sha256", secret).update(`${timestampSec}.${body}`).digest("hex");
  return `t=${timestampSec},v1=${mac}`;
}

/**
 * Whether `header` is a valid signature of `body` made within `toleranceSec` of `nowSec`
 * (default 300 s). Constant-time over the MAC.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string,
  nowSec: number,
  toleranceSec = 300,
): boolean {
  if (typeof header !== "string" || header.length > 512) return false;
  const parts = new Map(
    header.split(",").map((part) => {
      const at = part.indexOf("=");
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get("t"));
  const v1 = parts.get("v1") ?? "";
  if (!Number.isInteger(t) || Math.abs(nowSec - t) > toleranceSec || !/^[0-9a-f]{64}$/.test(v1)) return false;
  const expected = createHmac("sha256", secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(v1, "hex"));
}
