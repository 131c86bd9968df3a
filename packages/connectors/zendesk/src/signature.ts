import { createHmac } from "node:crypto";

/**
 * `base64(HMAC-SHA256(secret, timestamp + body))`: how Zendesk signs a webhook request
 * (`X-Zendesk-Webhook-Signature`, with the timestamp in `X-Zendesk-Webhook-Signature-Timestamp`).
 * Exported for tests and tools that need to send a signed request.
 */
export function zendeskSignature(secret: string, timestamp: string, body: string): string {
  return createHmac("sha256", secret)
    .update(timestamp + body, "utf8")
    .digest("base64");
}
