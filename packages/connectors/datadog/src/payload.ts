/**
 * What Datadog sends and answers. The webhook body is the template you paste into the Webhooks
 * tile (`webhookTemplate`); every `$VARIABLE` arrives as a string (docs.datadoghq.com
 * /integrations/webhooks). API shapes follow datadog-api-client-typescript's OpenAPI models.
 */
import { z } from "zod";

/**
 * The payload to paste into Datadog's Webhooks tile. Field names are what `parseWebhook` reads;
 * `alert_id`, `alert_transition` and `title` are required, the rest enrich the ticket.
 */
export const webhookTemplate = {
  id: "$ID",
  alert_id: "$ALERT_ID",
  alert_cycle_key: "$ALERT_CYCLE_KEY",
  aggreg_key: "$AGGREG_KEY",
  alert_transition: "$ALERT_TRANSITION",
  alert_type: "$ALERT_TYPE",
  alert_priority: "$ALERT_PRIORITY",
  alert_title: "$ALERT_TITLE",
  alert_query: "$ALERT_QUERY",
  alert_scope: "$ALERT_SCOPE",
  alert_status: "$ALERT_STATUS",
  alert_metric: "$ALERT_METRIC",
  title: "$EVENT_TITLE",
  body: "$EVENT_MSG",
  event_type: "$EVENT_TYPE",
  date: "$DATE",
  last_updated: "$LAST_UPDATED",
  hostname: "$HOSTNAME",
  tags: "$TAGS",
  link: "$LINK",
  priority: "$PRIORITY",
  org: { id: "$ORG_ID", name: "$ORG_NAME" },
} as const;

const text = (max: number) => z.string().max(max);

/** The webhook body sent by `webhookTemplate` (extra fields you add are ignored). */
export const WebhookPayload = z.object({
  alert_id: z.string().regex(/^\s*\d{1,20}\s*$/, "expected a monitor id ($ALERT_ID)"),
  alert_transition: text(64),
  title: text(4_096),
  id: text(128).optional(),
  alert_cycle_key: text(128).optional(),
  aggreg_key: text(256).optional(),
  alert_type: text(32).optional(),
  alert_priority: text(32).optional(),
  alert_title: text(4_096).optional(),
  alert_query: text(16 * 1024).optional(),
  alert_scope: text(8 * 1024).optional(),
  alert_status: text(16 * 1024).optional(),
  alert_metric: text(1_024).optional(),
  body: text(256 * 1024).optional(),
  event_type: text(128).optional(),
  date: text(32).optional(),
  last_updated: text(32).optional(),
  hostname: text(1_024).optional(),
  tags: text(64 * 1024).optional(),
  link: text(8 * 1024).optional(),
  priority: text(32).optional(),
  org: z.object({ id: text(64).optional(), name: text(1_024).optional() }).optional(),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;

/** `GET /api/v1/monitor/groups/search` */
export const MonitorGroupSearch = z.object({
  groups: z
    .array(
      z.object({
        group: z.string().default(""),
        group_tags: z.array(z.string()).default([]),
        last_triggered_ts: z.number().nullable().optional(),
        monitor_id: z.number().int(),
        monitor_name: z.string().default(""),
        status: z.string(),
      }),
    )
    .default([]),
  metadata: z
    .object({ page: z.number().int(), page_count: z.number().int(), per_page: z.number().int().optional() })
    .optional(),
});
export type MonitorGroupSearch = z.infer<typeof MonitorGroupSearch>;

/** `GET /api/v2/events` */
export const EventsList = z.object({
  data: z
    .array(
      z.object({
        id: z.string(),
        attributes: z
          .object({
            timestamp: z.string().optional(),
            tags: z.array(z.string()).default([]),
            message: z.string().default(""),
            attributes: z
              .object({
                monitor_id: z.number().int().nullable().optional(),
                monitor_groups: z.array(z.string()).nullable().optional(),
                status: z.string().optional(),
                priority: z.string().nullable().optional(),
                title: z.string().default(""),
                hostname: z.string().nullable().optional(),
                service: z.string().nullable().optional(),
                timestamp: z.number().optional(),
                monitor: z
                  .object({
                    id: z.number().int().optional(),
                    name: z.string().optional(),
                    tags: z.array(z.string()).default([]),
                    groups: z.array(z.string()).default([]),
                  })
                  .nullable()
                  .optional(),
              })
              .prefault({}),
          })
          .prefault({}),
      }),
    )
    .default([]),
  meta: z.object({ page: z.object({ after: z.string().optional() }).optional() }).optional(),
});
export type EventsList = z.infer<typeof EventsList>;
