/** The Datadog webhook receiver: shared-secret check and `webhookTemplate` body → TicketInput. */

import { clip, header, parseInput, safeEqual, webhookBody } from "@runwarden/connector-kit";
import type { ParsedWebhook, TicketInput, WebhookRequest } from "@runwarden/core";
import type { DatadogConfig, WebhookAuth } from "./config.js";
import {
  monitorFingerprint,
  normalizeScope,
  parseTags,
  plainMessage,
  present,
  severityFrom,
  splitTitle,
  tagValue,
  transitionState,
} from "./internal/map.js";
import { WebhookPayload } from "./payload.js";

/** Checks the shared-secret header (or basic auth) in constant time. */
export function verifyDatadogRequest(auth: WebhookAuth, request: WebhookRequest): boolean {
  if (auth.type === "none") return true;
  if (auth.type === "header") return safeEqual(header(request.headers, auth.header) ?? "", auth.secret);
  const value = header(request.headers, "authorization")?.trim() ?? "";
  const space = value.indexOf(" ");
  const scheme = space > 0 ? value.slice(0, space).toLowerCase() : "";
  const decoded = Buffer.from(space > 0 ? value.slice(space + 1).trim() : "", "base64").toString("utf8");
  const matches = safeEqual(decoded, `${auth.username}:${auth.password}`);
  return scheme === "basic" && matches;
}

function epochIso(value: string | undefined): string | null {
  const ms = Number(present(value));
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : null;
}

/** Turns one webhook call (one monitor group's transition) into one ticket. */
export function createWebhookParser(
  config: DatadogConfig,
  source: string,
): (request: WebhookRequest) => ParsedWebhook {
  return (request) => {
    const body = webhookBody(request, config.limits.maxBodyBytes, "Datadog");
    const payload = parseInput(WebhookPayload, body, "Datadog webhook payload");
    const warnings: string[] = [];

    const monitorId = payload.alert_id.trim();
    const title = splitTitle(
      present(payload.title) ?? present(payload.alert_title) ?? `Datadog monitor ${monitorId}`,
    );
    const transitionName = present(payload.alert_transition) ?? title.transition;
    let state = transitionState(transitionName);
    if (payload.alert_type?.toLowerCase() === "success") state = "resolved";
    if (!state) {
      state = "firing";
      warnings.push(`unknown alert transition "${clip(transitionName ?? "", 40)}", treated as firing`);
    }

    const scope = normalizeScope(present(payload.alert_scope) ?? title.scope);
    const tags = parseTags(present(payload.tags));
    const priority = present(payload.alert_priority);
    let severity = severityFrom(config, { priority, alertType: present(payload.alert_type) });
    if (!severity) {
      severity = config.defaultSeverity;
      warnings.push(`monitor ${monitorId}: no priority or alert type, used ${severity}`);
    }
    const host = tagValue(tags, config.mapping.host) ?? present(payload.hostname);
    const description =
      plainMessage(present(payload.body) ?? "") || present(payload.alert_status) || title.rest;
    const fingerprint = monitorFingerprint(monitorId, scope);

    const ticket: TicketInput = {
      title: clip(title.rest, 500),
      description: clip(description, 20_000),
      severity,
      environment: clip(tagValue(tags, config.mapping.environment) ?? "", 64),
      service: clip(tagValue(tags, config.mapping.service) ?? "", 128),
      source,
      externalId: fingerprint,
      fingerprint,
      resolved: state === "resolved",
      metaData: {
        monitorId: Number(monitorId),
        scope,
        transition: transitionName ?? null,
        ...(host ? { host } : {}),
        alertType: present(payload.alert_type) ?? null,
        priority: priority ?? null,
        eventId: present(payload.id) ?? null,
        alertCycleKey: present(payload.alert_cycle_key) ?? null,
        aggregKey: present(payload.aggreg_key) ?? null,
        eventType: present(payload.event_type) ?? null,
        query: present(payload.alert_query) ?? null,
        metric: present(payload.alert_metric) ?? null,
        status: present(payload.alert_status) ?? null,
        link: present(payload.link) ?? null,
        date: epochIso(payload.date),
        tags: tags.map(([k, v]) => (v ? `${k}:${v}` : k)),
        org: { id: present(payload.org?.id) ?? null, name: present(payload.org?.name) ?? null },
      },
    };
    return { tickets: [ticket], warnings };
  };
}
