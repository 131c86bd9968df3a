/** The SolarWinds webhook receiver: basic auth or shared-secret check, `webhookTemplate` body → TicketInput. */

import { clip, header, parseInput, readTemplateBody, safeEqual, webhookBody } from "@runwarden/connector-kit";
import { isRunwardenError, type ParsedWebhook, type TicketInput, type WebhookRequest } from "@runwarden/core";
import type { SolarWindsConfig, WebhookAuth } from "./config.js";
import { alertFingerprint, mapSeverity, present, severityName } from "./internal/map.js";
import { WebhookPayload } from "./payload.js";

/** Checks HTTP basic auth (the alert action's credentials) or the shared-secret header, in constant time. */
export function verifySolarWindsRequest(auth: WebhookAuth, request: WebhookRequest): boolean {
  if (auth.type === "none") return true;
  if (auth.type === "header") return safeEqual(header(request.headers, auth.header) ?? "", auth.secret);
  const value = header(request.headers, "authorization")?.trim() ?? "";
  const space = value.indexOf(" ");
  const scheme = space > 0 ? value.slice(0, space).toLowerCase() : "";
  const decoded = Buffer.from(space > 0 ? value.slice(space + 1).trim() : "", "base64").toString("utf8");
  const matches = safeEqual(decoded, `${auth.username}:${auth.password}`);
  return scheme === "basic" && matches;
}

const templateKeys = Object.keys(WebhookPayload.shape);

const resetEvents = new Set(["reset", "resolved", "cleared", "clear"]);
const triggerEvents = new Set(["trigger", "triggered", "firing"]);

/** Turns one alert action call (one alert object's trigger or reset) into one ticket. */
export function createWebhookParser(
  config: SolarWindsConfig,
  source: string,
): (request: WebhookRequest) => ParsedWebhook {
  return (request) => {
    const warnings: string[] = [];
    let body: unknown;
    try {
      body = webhookBody(request, config.limits.maxBodyBytes, "SolarWinds");
    } catch (error) {
      // Orion substitutes variables as plain text: a quote or a backslash in a value (a Windows
      // volume, a quoted message) breaks the JSON. Read such a body by the template's keys.
      const lenient =
        isRunwardenError(error) && error.code === "RW_ERR_INPUT_INVALID" && request.body === undefined
          ? readTemplateBody(request.rawBody, templateKeys)
          : undefined;
      if (!lenient) throw error;
      body = lenient;
      warnings.push(
        "the body is not valid JSON (an unescaped quote or backslash in a value): read by its template keys",
      );
    }
    const payload = parseInput(WebhookPayload, body, "SolarWinds webhook payload");

    const alertObjectId = payload.AlertObjectID.trim();
    const fingerprint = alertFingerprint(alertObjectId);
    const event = present(payload.Event)?.toLowerCase() ?? "trigger";
    let resolved = resetEvents.has(event);
    if (!resolved && !triggerEvents.has(event)) {
      warnings.push(`unknown Event "${clip(event, 40)}", treated as a trigger`);
      resolved = false;
    }

    const severityLabel = severityName(payload.Severity);
    let severity = mapSeverity(config, severityLabel);
    if (!severity) {
      severity = config.defaultSeverity;
      warnings.push(
        severityLabel === undefined
          ? `alert object ${fingerprint}: no severity, used ${severity}`
          : `alert object ${fingerprint}: unknown severity "${clip(severityLabel, 40)}", used ${severity}`,
      );
    }

    const name = present(payload.AlertName) ?? `SolarWinds alert object ${fingerprint}`;
    const node = present(payload.NodeName);
    const ip = present(payload.IP_Address);
    const message = present(payload.AlertMessage);
    const title = node && !name.includes(node) ? `${name} on ${node}` : name;
    const description = [message, present(payload.AlertDescription)].filter(Boolean).join("\n\n");

    const ticket: TicketInput = {
      title: clip(title, 500),
      description: clip(description || name, 20_000),
      severity,
      environment: clip(present(payload.Environment) ?? config.mapping.environment, 64),
      service: clip(present(payload.Service) ?? config.mapping.service, 128),
      source,
      externalId: fingerprint,
      fingerprint,
      resolved,
      metaData: {
        alertObjectId: Number(alertObjectId),
        alertActiveId: numberOrNull(payload.AlertActiveID),
        alertId: numberOrNull(payload.AlertID),
        alertName: clip(name, 1_024),
        severityName: severityLabel ?? null,
        objectType: present(payload.ObjectType) ?? null,
        ...(node ? { host: clip(node, 255) } : {}),
        ...(ip ? { ip: clip(ip, 64) } : {}),
        acknowledged: present(payload.Acknowledged) ?? null,
        detailsUrl: present(payload.AlertDetailsUrl) ?? null,
        triggeredAt: present(payload.TimeOfAlert) ?? null,
        event: resolved ? "reset" : "trigger",
      },
    };
    return { tickets: [ticket], warnings };
  };
}

function numberOrNull(value: string | number | undefined): number | null {
  const given = present(value);
  return given !== undefined && /^\d{1,15}$/.test(given) ? Number(given) : null;
}
