/** The Datadog webhook receiver: shared-secret check and a webhook body (default payload, `webhookTemplate` or a custom template) → TicketInput. */

import { createHash } from "node:crypto";
import { clip, header, parseInput, safeEqual, webhookBody } from "@runwarden/connector-kit";
import {
  type ParsedWebhook,
  rwError,
  severityFromLabels,
  type TicketInput,
  tagsToLabels,
  type WebhookRequest,
} from "@runwarden/core";
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

/** A monitor's id from a monitor link in the message or `link` (`…/monitors/221164084?…`, `…/monitors#18692904`). */
function monitorIdFromLinks(...texts: (string | undefined)[]): string | undefined {
  for (const text of texts) {
    const match = text ? /\/monitors(?:#|\/)(\d{1,20})(?!\d)/.exec(text) : null;
    if (match) return match[1];
  }
  return undefined;
}

function refuse(path: string, message: string): never {
  throw rwError("RW_ERR_INPUT_INVALID", `Datadog webhook payload is invalid: ${path}: ${message}`, {
    details: { fields: [{ path, message }], issueCount: 1 },
  });
}

/** A title-derived fingerprint for payloads without a monitor id (Datadog's default payload). */
function titleFingerprint(title: string, scope: string): string {
  const digest = createHash("sha256").update(title.trim().toLowerCase()).digest("hex").slice(0, 16);
  return scope ? `title-${digest}:${scope}` : `title-${digest}`;
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

    const message = present(payload.body) ?? present(payload.text) ?? present(payload.message);
    const link = present(payload.link) ?? present(payload.url);
    const givenId = present(payload.alert_id);
    if (givenId !== undefined && !/^\d{1,20}$/.test(givenId))
      refuse("alert_id", "expected a monitor id ($ALERT_ID)");
    const monitorId = givenId ?? monitorIdFromLinks(link, message);

    const rawTitle = present(payload.title) ?? present(payload.event_title) ?? present(payload.alert_title);
    if (rawTitle === undefined && monitorId === undefined) {
      refuse("title", "expected a title ($EVENT_TITLE), alert_title ($ALERT_TITLE) or alert_id ($ALERT_ID)");
    }
    const title = splitTitle(rawTitle ?? `Datadog monitor ${monitorId}`);
    // $ALERT_TITLE carries the prefix too when $EVENT_TITLE does not.
    const alertTitle = present(payload.alert_title) ? splitTitle(present(payload.alert_title)!) : undefined;
    const transitionName =
      present(payload.alert_transition) ??
      present(payload.transition) ??
      title.transition ??
      alertTitle?.transition;
    let state = transitionState(transitionName);
    if (present(payload.alert_type)?.toLowerCase() === "success") state = "resolved";
    if (!state) {
      state = "firing";
      warnings.push(
        transitionName
          ? `unknown alert transition "${clip(transitionName, 40)}", treated as firing`
          : "no alert transition ($ALERT_TRANSITION or a [Triggered]/[Recovered] title prefix), treated as firing",
      );
    }

    const scope = normalizeScope(present(payload.alert_scope) ?? title.scope ?? alertTitle?.scope);
    const tagText = Array.isArray(payload.tags) ? payload.tags : present(payload.tags);
    const tags = parseTags(tagText);
    const pScale = (value: string | undefined) => (value && /^P[1-5]$/i.test(value) ? value : undefined);
    const priority = pScale(present(payload.alert_priority)) ?? pScale(present(payload.priority));
    let severity = severityFrom(config, { priority, alertType: present(payload.alert_type) });
    if (!severity && transitionName && /warn/i.test(transitionName)) severity = "medium";
    if (!severity) severity = severityFromLabels(tagsToLabels(tags.map(([k, v]) => `${k}:${v}`)))?.severity;
    if (!severity) {
      severity = config.defaultSeverity;
      warnings.push(
        `${monitorId ? `monitor ${monitorId}` : "alert"}: no priority or alert type, used ${severity}`,
      );
    }
    const host =
      tagValue(tags, config.mapping.host) ??
      present(payload.hostname) ??
      present(payload.host_name) ??
      present(payload.host);
    const description = plainMessage(message ?? "") || present(payload.alert_status) || title.rest;
    const fingerprint = monitorId
      ? monitorFingerprint(monitorId, scope)
      : present(payload.alert_cycle_key)
        ? `cycle-${present(payload.alert_cycle_key)}`
        : titleFingerprint(title.rest, scope);

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
        monitorId: monitorId === undefined ? null : Number(monitorId),
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
        link: link ?? null,
        date: epochIso(payload.date),
        tags: tags.map(([k, v]) => (v ? `${k}:${v}` : k)),
        org: { id: present(payload.org?.id) ?? null, name: present(payload.org?.name) ?? null },
      },
    };
    return { tickets: [ticket], warnings };
  };
}
