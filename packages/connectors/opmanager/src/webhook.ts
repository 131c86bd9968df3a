/** The OpManager webhook receiver: shared-secret or basic check, `webhookTemplate` body → TicketInput. */

import { clip, header, parseInput, readTemplateBody, safeEqual, webhookBody } from "@runwarden/connector-kit";
import { isRunwardenError, type ParsedWebhook, type TicketInput, type WebhookRequest } from "@runwarden/core";
import type { OpManagerConfig, WebhookAuth } from "./config.js";
import { alarmTitle, isClear, mapSeverity, present, severityName } from "./internal/map.js";
import { WebhookPayload } from "./payload.js";

/** Checks the shared-secret header or HTTP basic credentials, in constant time. */
export function verifyOpManagerRequest(auth: WebhookAuth, request: WebhookRequest): boolean {
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

/** Turns one notification (one alarm's raise, change or clear) into one ticket. */
export function createWebhookParser(
  config: OpManagerConfig,
  source: string,
): (request: WebhookRequest) => ParsedWebhook {
  return (request) => {
    const warnings: string[] = [];
    let body: unknown;
    try {
      body = webhookBody(request, config.limits.maxBodyBytes, "OpManager");
    } catch (error) {
      // OpManager substitutes variables as plain text: a quote or a backslash in a value breaks
      // the JSON. Read such a body by the template's keys.
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
    const payload = parseInput(WebhookPayload, body, "OpManager webhook payload");
    const entity = payload.entity;

    const name = severityName(payload.severity);
    const clear = isClear(name);
    let severity = mapSeverity(config, name);
    if (!severity) {
      severity = clear ? "info" : config.defaultSeverity;
      if (!clear) {
        warnings.push(
          name === undefined
            ? `alarm ${clip(entity, 80)}: no severity, used ${severity}`
            : `alarm ${clip(entity, 80)}: unknown severity "${clip(name, 40)}", used ${severity}`,
        );
      }
    }
    const device = present(payload.device_name);
    const ip = present(payload.ip_address);
    const message = present(payload.message);
    const ticket: TicketInput = {
      title: clip(
        alarmTitle({
          message,
          eventType: present(payload.event_type),
          category: present(payload.category),
          device,
          entity,
        }),
        500,
      ),
      description: clip(message ?? "", 20_000),
      severity,
      environment: clip(present(payload.environment) ?? config.mapping.environment, 64),
      service: clip(present(payload.service) ?? config.mapping.service, 128),
      source,
      externalId: entity,
      fingerprint: entity,
      resolved: clear,
      metaData: {
        entity,
        alarmId: present(payload.alarm_id) ?? null,
        severityName: name ?? null,
        category: present(payload.category) ?? null,
        eventType: present(payload.event_type) ?? null,
        ...(device ? { host: clip(device, 255) } : {}),
        ...(ip ? { ip: clip(ip, 64) } : {}),
        lastPolledValue: present(payload.last_polled_value) ?? null,
        deviceType: present(payload.device_type) ?? null,
        modifiedAt: present(payload.timestamp) ?? null,
      },
    };
    return { tickets: [ticket], warnings };
  };
}
