/** The Alertmanager webhook receiver: authentication and payload v4 → TicketInput[]. */

import { header, parseInput, safeEqual, webhookBody } from "@runwarden/connector-kit";
import type { ParsedWebhook, WebhookRequest } from "@runwarden/core";
import { rwError } from "@runwarden/core";
import type { PrometheusConfig, WebhookAuth } from "./config.js";
import { labelSetFingerprint } from "./internal/fingerprint.js";
import { createMapper } from "./internal/map.js";
import { WebhookPayload } from "./payload.js";

/**
 * Checks the `Authorization` header against the configured bearer token or basic credentials, in
 * constant time. Scheme names are case-insensitive (RFC 9110).
 */
export function verifyAlertmanagerRequest(auth: WebhookAuth, request: WebhookRequest): boolean {
  if (auth.type === "none") return true;
  const value = header(request.headers, "authorization")?.trim() ?? "";
  const space = value.indexOf(" ");
  const scheme = space > 0 ? value.slice(0, space).toLowerCase() : "";
  const credentials = space > 0 ? value.slice(space + 1).trim() : "";
  if (auth.type === "bearer") {
    // Compare even when the scheme is wrong, so a wrong scheme costs the same time.
    const matches = safeEqual(credentials, auth.token);
    return scheme === "bearer" && matches;
  }
  const decoded = Buffer.from(credentials, "base64").toString("utf8");
  const matches = safeEqual(decoded, `${auth.username}:${auth.password}`);
  return scheme === "basic" && matches;
}

/** Turns one webhook notification into one ticket per alert. */
export function createWebhookParser(
  config: PrometheusConfig,
  source: string,
): (request: WebhookRequest) => ParsedWebhook {
  const mapper = createMapper(config);
  const { maxBodyBytes, maxAlerts } = config.limits;

  return (request) => {
    const body = webhookBody(request, maxBodyBytes, "Alertmanager");
    const count = (body as { alerts?: unknown } | null)?.alerts;
    if (Array.isArray(count) && count.length > maxAlerts) {
      throw rwError(
        "RW_ERR_INPUT_INVALID",
        `Alertmanager notification has ${count.length} alerts, over ${maxAlerts}`,
        {
          details: {
            fields: [{ path: "alerts", message: `more than ${maxAlerts} alerts` }],
            limit: maxAlerts,
          },
        },
      );
    }
    const payload = parseInput(WebhookPayload, body, "Alertmanager webhook payload");
    const warnings: string[] = [];
    if (payload.truncatedAlerts > 0) {
      warnings.push(
        `Alertmanager left out ${payload.truncatedAlerts} alerts of group ${payload.groupKey}: raise max_alerts`,
      );
    }
    const extra = {
      groupKey: payload.groupKey,
      receiver: payload.receiver,
      externalURL: payload.externalURL,
    };
    const seen = new Set<string>();
    const tickets = [];
    for (const given of payload.alerts) {
      const alert = { ...given, fingerprint: given.fingerprint ?? labelSetFingerprint(given.labels) };
      if (seen.has(alert.fingerprint)) {
        warnings.push(`alert ${alert.fingerprint} appears twice in one notification; kept the first`);
        continue;
      }
      seen.add(alert.fingerprint);
      tickets.push(
        mapper.map(
          alert,
          { source, resolved: alert.status === "resolved", extra: { ...extra, status: alert.status } },
          warnings,
        ),
      );
    }
    return { tickets, warnings };
  };
}
