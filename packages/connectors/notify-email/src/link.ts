/**
 * The e-mail's one-time approval links: `<payload>.<mac>`, the payload base64url JSON
 * `{ a: approval id, h: binding hash, r: recipient, e: expiry (ms), n: nonce }`, the mac
 * HMAC-SHA256 of the payload under the notifier's `linkSecret`. The link opens the dashboard's
 * approval-link page; it never decides on its own (single use is the server's part).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { type NotifierLink, rwError } from "@runwarden/core";
import { z } from "zod";

const Claims = z
  .object({
    a: z.number().int().positive(),
    h: z.string().max(200),
    r: z.string().max(320),
    e: z.number().int().positive(),
    n: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
  })
  .strict();

const mac = (secret: string, payload: string) => createHmac("sha256", secret).update(payload).digest();

/**
 * Signs a link token for `approvalId` sent to `recipient`, valid until `expiresAtMs`.
 *
 * @example
 * ```ts
 * const token = signApprovalLink(secret, { approvalId: 7, bindingHash, recipient: "ann@example.com", expiresAtMs });
 * ```
 */
export function signApprovalLink(
  secret: string,
  link: { approvalId: number; bindingHash: string; recipient: string; expiresAtMs: number; nonce?: string },
): string {
  const claims: z.infer<typeof Claims> = {
    a: link.approvalId,
    h: link.bindingHash,
    r: link.recipient,
    e: Math.floor(link.expiresAtMs),
    n: link.nonce ?? randomBytes(18).toString("base64url"),
  };
  const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
  return `${payload}.${mac(secret, payload).toString("base64url")}`;
}

/**
 * Checks a link token made by {@link signApprovalLink} with `secret` at `nowMs`. Throws
 * RW_ERR_INPUT_INVALID (`details.reason`: `forged` or `expired`) with a message for a person.
 */
export function verifyApprovalLink(secret: string, token: string, nowMs: number): NotifierLink {
  const forged = () =>
    rwError(
      "RW_ERR_INPUT_INVALID",
      "This link is not valid: it was not made by this Runwarden (or was altered). Open the approval from the dashboard.",
      { details: { reason: "forged" } },
    );
  const parts = token.split(".");
  if (parts.length !== 2 || token.length > 2_000) throw forged();
  const [payload, given] = parts as [string, string];
  const expected = mac(secret, payload);
  const sent = Buffer.from(given, "base64url");
  if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) throw forged();
  let claims: z.infer<typeof Claims>;
  try {
    claims = Claims.parse(JSON.parse(Buffer.from(payload, "base64url").toString("utf8")));
  } catch {
    throw forged();
  }
  const expiresAt = new Date(claims.e).toISOString();
  if (claims.e <= nowMs)
    throw rwError(
      "RW_ERR_INPUT_INVALID",
      `This link expired at ${expiresAt}. Open the approval from the dashboard if it is still pending.`,
      { details: { reason: "expired", expiresAt } },
    );
  return { approvalId: claims.a, bindingHash: claims.h, recipient: claims.r, expiresAt, nonce: claims.n };
}
