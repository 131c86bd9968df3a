/**
 * `@runwarden/connector-notify-webhook`: a notifier that POSTs signed JSON. Register it with
 * `createEngine({ connectors: [{ connector: webhookNotifier, config }], notifications })`.
 */
export { WebhookNotifierConfig } from "./config.js";
export { default, webhookBody, webhookNotifier } from "./connector.js";
export { signatureHeader, signWebhook, verifyWebhookSignature } from "./signature.js";
