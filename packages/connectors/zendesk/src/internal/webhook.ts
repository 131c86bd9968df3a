/**
 * Zendesk's event-subscribed webhooks (`zen:event-type:ticket.*`): the signature check
 * (`X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, timestamp + body))) and the mapping
 * of a ticket event to a ticket, so a new Zendesk ticket arrives without waiting for the next pull.
 */
import { header, parseInput, safeEqual, webhookBody } from "@runwarden/connector-kit";
import type { Logger, ParsedWebhook, TicketInput, TicketSeverity, WebhookRequest } from "@runwarden/core";
import { z } from "zod";
import { type ZendeskConfig, zendeskBaseUrl } from "../config.js";
import { zendeskSignature } from "../signature.js";
import { agentUrl } from "./tickets.js";

const MAX_BODY = 1024 * 1024;

/**
 * True when the request carries Zendesk's signature of its timestamp and raw body, made with
 * `secret`, and the timestamp is within `toleranceMs` of `nowMs` (a replayed request is refused).
 * Without a secret every request is refused.
 */
export function verifyZendeskSignature(
  request: WebhookRequest,
  secret: string | undefined,
  nowMs: number,
  toleranceMs: number,
): boolean {
  if (!secret) return false;
  const signature = header(request.headers, "x-zendesk-webhook-signature");
  const timestamp = header(request.headers, "x-zendesk-webhook-signature-timestamp");
  if (!signature || !timestamp || timestamp.length > 64) return false;
  const at = Date.parse(timestamp);
  if (Number.isNaN(at) || Math.abs(nowMs - at) > toleranceMs) return false;
  return safeEqual(signature, zendeskSignature(secret, timestamp, request.rawBody));
}

const id = z.union([z.string().regex(/^\d{1,16}$/), z.number().int().positive()]).transform(String);

/** The part of an event-subscribed ticket webhook we read; `detail` values are strings. */
const TicketEvent = z.object({
  type: z.string().regex(/^zen:event-type:ticket\.[a-z_.]{1,60}$/, "a zen:event-type:ticket.* event"),
  time: z.string().max(64).optional(),
  subject: z.string().max(200).optional(),
  detail: z.object({
    id,
    subject: z.string().max(10_000).nullish(),
    description: z.string().max(200_000).nullish(),
    status: z.string().max(40).nullish(),
    priority: z.string().max(40).nullish(),
    type: z.string().max(40).nullish(),
    external_id: z.string().max(1_000).nullish(),
    group_id: z.union([z.string(), z.number()]).nullish(),
    tags: z.array(z.string().max(200)).max(500).nullish(),
    updated_at: z.string().max(64).nullish(),
  }),
  event: z.object({ current: z.unknown().optional(), previous: z.unknown().optional() }).partial().optional(),
});

const priorityToSeverity: Record<string, TicketSeverity> = {
  urgent: "critical",
  high: "high",
  normal: "medium",
  low: "low",
};

/**
 * A ticket event as tickets: one ticket, or none for a ticket Runwarden opened itself (its
 * `external_id` is a create key, `<source>:<ticket id>:create`) or one outside the configured
 * groups and tags. Event enums arrive capitalised (`Open`, `Urgent`): they are lower-cased.
 */
export function parseZendeskWebhook(
  request: WebhookRequest,
  config: ZendeskConfig,
  source: string,
  logger: Logger,
): ParsedWebhook {
  const body = parseInput(TicketEvent, webhookBody(request, MAX_BODY, "Zendesk"), "Zendesk webhook");
  const { detail } = body;
  const status = (
    body.type.endsWith(".status_changed") && typeof body.event?.current === "string"
      ? body.event.current
      : (detail.status ?? "open")
  ).toLowerCase();
  const tags = detail.tags ?? [];
  const groupId = detail.group_id === null || detail.group_id === undefined ? null : Number(detail.group_id);
  const closed = (config.closedStatuses as readonly string[]).includes(status);
  const own = detail.external_id ? new RegExp(`^${source}:\\d+:create$`).test(detail.external_id) : false;
  const { groupIds, tags: wantedTags } = config.pull;
  const outside =
    !closed &&
    ((groupIds.length > 0 && (groupId === null || !groupIds.includes(groupId))) ||
      (wantedTags.length > 0 && !tags.some((tag) => wantedTags.includes(tag))));
  if (own || outside) {
    logger.debug({ zendeskId: detail.id, own, outside }, "zendesk webhook ticket skipped");
    return {
      tickets: [],
      warnings: [
        own ? "a ticket Runwarden opened: skipped" : "outside the configured groups and tags: skipped",
      ],
    };
  }
  const priority = (detail.priority ?? "").toLowerCase();
  const warnings: string[] = [];
  const severity = priorityToSeverity[priority];
  if (!severity && priority !== "")
    warnings.push(`unknown priority "${priority.slice(0, 20)}" mapped to medium`);
  const ticket: TicketInput = {
    title: (detail.subject || `Zendesk ticket #${detail.id}`).slice(0, 500),
    description: (detail.description ?? "").slice(0, 20_000),
    severity: severity ?? "medium",
    source,
    externalId: detail.id,
    resolved: closed,
    metaData: {
      zendeskId: Number(detail.id),
      url: agentUrl(zendeskBaseUrl(config), detail.id),
      status,
      priority: priority || null,
      type: detail.type ? detail.type.toLowerCase() : null,
      groupId,
      tags: tags.slice(0, 50),
      correlationId: detail.external_id ?? null,
      event: body.type,
    },
  };
  return { tickets: [ticket], warnings };
}
