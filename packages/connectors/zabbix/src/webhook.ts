/** The receiver of the Runwarden media type's calls: shared-secret check and payload → ticket. */
import { clip, header, parseInput, safeEqual, webhookBody } from "@runwarden/connector-kit";
import type { ParsedWebhook, WebhookRequest } from "@runwarden/core";
import { z } from "zod";
import type { ZabbixConfig, ZabbixWebhookAuth } from "./config.js";
import { problemTicket, type ZabbixTag } from "./internal/map.js";

const text = z.string().max(20_000).optional();

/**
 * What the Runwarden media type posts: each parameter by the name of the macro it carries
 * (`{EVENT.ID}` as `"EVENT.ID"`), values as Zabbix rendered them. `EVENT.ID` is required; a macro
 * Zabbix could not resolve arrives as itself (`"{EVENT.RECOVERY.ID}"`) and counts as absent.
 */
export const ZabbixWebhookPayload = z
  .object({
    "EVENT.ID": z.string().regex(/^\d{1,20}$/, "a Zabbix event id"),
    "EVENT.NAME": text,
    "EVENT.NSEVERITY": text,
    "EVENT.SEVERITY": text,
    "EVENT.STATUS": text,
    "EVENT.VALUE": text,
    "EVENT.DATE": text,
    "EVENT.TIME": text,
    "EVENT.TAGSJSON": text,
    "EVENT.OPDATA": text,
    "EVENT.ACK.STATUS": text,
    "EVENT.UPDATE.STATUS": text,
    "EVENT.UPDATE.ACTION": text,
    "EVENT.RECOVERY.ID": text,
    "TRIGGER.ID": text,
    "HOST.NAME": text,
    "HOST.HOST": text,
    "HOST.IP": text,
    "ALERT.SUBJECT": text,
    "ALERT.MESSAGE": text,
    "ZABBIX.URL": text,
  })
  .loose();
export type ZabbixWebhookPayload = z.infer<typeof ZabbixWebhookPayload>;

/** A value, or undefined when empty or an unresolved macro (`{HOST.IP}`, `*UNKNOWN*`). */
function present(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  if (!trimmed || /^\{[^{}]*\}$/.test(trimmed) || trimmed === "*UNKNOWN*") return undefined;
  return trimmed;
}

const TagsJson = z.array(z.object({ tag: z.string(), value: z.string().default("") }).loose()).max(500);

const severityByName: Readonly<Record<string, number>> = {
  "not classified": 0,
  information: 1,
  warning: 2,
  average: 3,
  high: 4,
  disaster: 5,
};

/** Checks `Authorization: Bearer <secret>` in constant time. */
export function verifyZabbixRequest(auth: ZabbixWebhookAuth, request: WebhookRequest): boolean {
  if (auth.type === "none") return true;
  const value = header(request.headers, "authorization")?.trim() ?? "";
  const match = /^bearer\s+(.+)$/i.exec(value);
  const matches = safeEqual(match?.[1]?.trim() ?? "", auth.secret);
  return match !== null && matches;
}

/**
 * Turns one media type call into one ticket: a problem into a firing one, its recovery (or an
 * update that closed it) into a resolved one. Other updates give no ticket, with a warning.
 */
export function createWebhookParser(
  config: ZabbixConfig,
  source: string,
): (request: WebhookRequest) => ParsedWebhook {
  return (request) => {
    const body = webhookBody(request, config.limits.maxBodyBytes, "Zabbix");
    const payload = parseInput(ZabbixWebhookPayload, body, "Zabbix webhook payload");
    const warnings: string[] = [];
    const eventId = payload["EVENT.ID"];

    let tags: ZabbixTag[] = [];
    const tagsJson = present(payload["EVENT.TAGSJSON"]);
    if (tagsJson) {
      let raw: unknown;
      try {
        raw = JSON.parse(tagsJson);
      } catch {
        raw = undefined;
      }
      const parsed = TagsJson.safeParse(raw);
      if (parsed.success) tags = parsed.data.map((t) => ({ tag: t.tag, value: t.value }));
      else warnings.push(`event ${eventId}: EVENT.TAGSJSON is not a list of tags, ignored`);
    }

    const nseverity = present(payload["EVENT.NSEVERITY"]);
    let severity = nseverity !== undefined && /^[0-5]$/.test(nseverity) ? Number(nseverity) : undefined;
    if (severity === undefined) {
      severity = severityByName[present(payload["EVENT.SEVERITY"])?.toLowerCase() ?? ""];
    }

    const value = present(payload["EVENT.VALUE"]);
    const status = present(payload["EVENT.STATUS"])?.toUpperCase();
    const recoveryId = present(payload["EVENT.RECOVERY.ID"]);
    let resolved: boolean;
    if (value === "0" || value === "1") resolved = value === "0";
    else if (status === "RESOLVED" || status === "OK") resolved = true;
    else if (status === "PROBLEM") resolved = false;
    else {
      resolved = recoveryId !== undefined && /^\d+$/.test(recoveryId);
      if (!resolved) warnings.push(`event ${eventId}: no EVENT.VALUE or EVENT.STATUS, treated as a problem`);
    }

    const hostName = present(payload["HOST.NAME"]);
    const hostTech = present(payload["HOST.HOST"]);
    const update = present(payload["EVENT.UPDATE.STATUS"]) === "1";
    const updateAction = present(payload["EVENT.UPDATE.ACTION"]);
    if (update && !resolved) {
      // An update (acknowledged, commented, severity changed, closed) says nothing new about the
      // problem, except a close; a bare update could even reopen a ticket resolved meanwhile
      // (Runwarden's own acknowledge and close cause updates). So only a close counts.
      if (!/\bclosed\b/i.test(updateAction ?? "")) {
        return {
          tickets: [],
          warnings: [
            `event ${eventId}: update notification (${clip(updateAction ?? "no action", 100)}) ignored: only a close changes a ticket`,
          ],
        };
      }
      resolved = true;
    }
    const { ticket, warnings: mapped } = problemTicket(config, source, {
      eventId,
      triggerId: present(payload["TRIGGER.ID"]),
      name:
        present(payload["EVENT.NAME"]) ?? present(payload["ALERT.SUBJECT"]) ?? `Zabbix problem ${eventId}`,
      severity,
      tags,
      hosts: hostTech || hostName ? [{ host: hostTech ?? hostName ?? "", name: hostName }] : [],
      hostIp: present(payload["HOST.IP"]),
      resolved,
      recoveryEventId: recoveryId,
      acknowledged: present(payload["EVENT.ACK.STATUS"])?.toLowerCase() === "yes",
      opdata: present(payload["EVENT.OPDATA"]),
      message: present(payload["ALERT.MESSAGE"]),
      frontendUrl: present(payload["ZABBIX.URL"]),
      via: "webhook",
    });
    ticket.metaData = {
      ...ticket.metaData,
      update: update ? clip(updateAction ?? "updated", 200) : null,
    };
    return { tickets: [ticket], warnings: [...warnings, ...mapped] };
  };
}
