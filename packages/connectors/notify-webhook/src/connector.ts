/**
 * The signed webhook notifier: each notification is POSTed as JSON, signed with
 * `X-Runwarden-Signature` (HMAC-SHA256 over `<timestamp>.<body>`), with the outbox's idempotency
 * key as `X-Runwarden-Delivery` so a receiver can drop a redelivery.
 */
import { defineConnector, type Notification, type NotifierConnector, rwError } from "@runwarden/core";
import { WebhookNotifierConfig } from "./config.js";
import { signatureHeader, signWebhook } from "./signature.js";

/** The JSON body a receiver gets (snake_case, like the REST API). */
export function webhookBody(notification: Notification, deliveryId: string): Record<string, unknown> {
  const n = notification;
  return {
    delivery_id: deliveryId,
    event: n.event,
    title: n.title,
    text: n.text,
    severity: n.severity,
    at: n.at,
    ticket_id: n.ticketId ?? null,
    session_id: n.sessionId ?? null,
    runbook_key: n.runbookKey ?? null,
    environment: n.environment ?? null,
    url: n.url ?? null,
    audience: n.audience ?? null,
    approval: n.approval
      ? {
          id: n.approval.id,
          step_name: n.approval.stepName,
          target: n.approval.target,
          risk: n.approval.risk,
          rendered_command: n.approval.renderedCommand,
          expires_at: n.approval.expiresAt,
          started_by: n.approval.startedBy,
        }
      : null,
  };
}

function failure(status: number, retryAfter: string | null, now: number): Error {
  const details = { status };
  if (status === 401 || status === 403)
    return rwError("RW_ERR_CONNECTOR_AUTH", `the webhook receiver refused the signature (HTTP ${status})`, {
      details,
    });
  if (status === 429) {
    const seconds = Number(retryAfter);
    const date = retryAfter ? Date.parse(retryAfter) : Number.NaN;
    const retryAfterMs = Number.isFinite(seconds)
      ? seconds * 1_000
      : Number.isFinite(date)
        ? date - now
        : 1_000;
    return rwError("RW_ERR_CONNECTOR_RATE_LIMITED", "the webhook receiver asks us to slow down (HTTP 429)", {
      details: { ...details, retryAfterMs: Math.max(0, retryAfterMs) },
      retryable: true,
    });
  }
  if (status >= 500)
    return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `the webhook receiver failed (HTTP ${status})`, {
      details,
      retryable: true,
    });
  return rwError(
    "RW_ERR_CONNECTOR_REJECTED",
    `the webhook receiver rejected the notification (HTTP ${status})`,
    {
      details,
    },
  );
}

/** The signed outgoing webhook notifier (kind `notifier`, name `webhook`). */
export const webhookNotifier = defineConnector({
  kind: "notifier",
  name: "webhook",
  version: "0.1.0",
  sdk: "^0.1.0",
  description:
    "POSTs each notification as JSON, signed with X-Runwarden-Signature (HMAC-SHA256 with a timestamp)",
  configSchema: WebhookNotifierConfig,
  capabilities: ["notify", "describe"],
  create(config, ctx): NotifierConnector {
    const now = () => ctx.now().getTime();
    const host = new URL(config.url).host;
    async function post(body: string, event: string, deliveryId: string, signal: AbortSignal): Promise<void> {
      signal.throwIfAborted();
      const timestamp = Math.floor(now() / 1_000);
      let response: Response;
      try {
        response = await fetch(config.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "Runwarden-Webhook/0.1",
            [signatureHeader]: signWebhook(config.secret, body, timestamp),
            "X-Runwarden-Event": event,
            "X-Runwarden-Delivery": deliveryId,
          },
          body,
          redirect: "manual",
          signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]),
        });
      } catch (err) {
        if (signal.aborted || (err as Error).name === "TimeoutError" || (err as Error).name === "AbortError")
          throw rwError(
            "RW_ERR_CONNECTOR_TIMEOUT",
            `the webhook receiver at ${host} did not answer in time`,
            {
              retryable: true,
              details: { host },
            },
          );
        throw rwError(
          "RW_ERR_CONNECTOR_UNREACHABLE",
          `the webhook receiver at ${host} could not be reached`,
          {
            retryable: true,
            details: { host, reason: (err as { cause?: { code?: string } }).cause?.code ?? "network" },
          },
        );
      }
      await response.body?.cancel().catch(() => undefined);
      if (response.status < 200 || response.status >= 300)
        throw failure(response.status, response.headers.get("retry-after"), now());
    }
    return {
      async send(notification, { idempotencyKey, signal }) {
        await post(
          JSON.stringify(webhookBody(notification, idempotencyKey)),
          notification.event,
          idempotencyKey,
          signal,
        );
        ctx.logger.info({ event: notification.event, host }, "webhook notification delivered");
        return undefined;
      },
      describe: (notification) => `POST ${notification.event} to ${host}, signed`,
    };
  },
});

export default webhookNotifier;
