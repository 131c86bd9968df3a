/**
 * What Datadog sends and answers. The webhook body is the template you paste into the Webhooks
 * tile (`webhookTemplate`); every `$VARIABLE` arrives as a string (docs.datadoghq.com
 * /integrations/webhooks). API shapes follow datadog-api-client-typescript's OpenAPI models.
 */
import { z } from "zod";

/**
 * The payload to paste into Datadog's Webhooks tile: every variable `parseWebhook` reads. Datadog's
 * default payload works too; this one adds the monitor id, scope, transition and priority, which
 * make a stable fingerprint, a recovery that resolves the ticket, and the right severity.
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
/** An id: `"$ALERT_ID"` quoted gives a string, written without quotes a number. */
const id = (max: number) =>
  z
    .union([z.string().max(max), z.number().int().nonnegative()])
    .transform((value) => String(value))
    .optional();
/** Tags: `$TAGS` is a comma-separated string; a custom template may send a list. */
const tags = z.union([text(64 * 1024), z.array(text(1_024)).max(1_000)]).optional();

/**
 * A Datadog webhook body. Every field is optional: Datadog's default payload (`body`,
 * `last_updated`, `event_type`, `title`, `date`, `org`, `id`), `webhookTemplate`, and the custom
 * templates people write (ids as strings or numbers, `alert_title` without `title`, `host_name`,
 * tags as a list) all parse. What a ticket cannot do without (a title from somewhere) is checked
 * when mapping. Unknown fields are ignored.
 */
export const WebhookPayload = z.object({
  alert_id: id(32),
  alert_transition: text(64).optional(),
  /** A custom template's name for `$ALERT_TRANSITION`. */
  transition: text(64).optional(),
  title: text(4_096).optional(),
  event_title: text(4_096).optional(),
  id: id(128),
  alert_cycle_key: id(128),
  aggreg_key: text(256).optional(),
  alert_type: text(32).optional(),
  alert_priority: text(32).optional(),
  alert_title: text(4_096).optional(),
  alert_query: text(16 * 1024).optional(),
  alert_scope: text(8 * 1024).optional(),
  alert_status: text(16 * 1024).optional(),
  alert_metric: text(1_024).optional(),
  body: text(256 * 1024).optional(),
  text: text(256 * 1024).optional(),
  message: text(256 * 1024).optional(),
  event_type: text(128).optional(),
  date: id(32),
  last_updated: id(32),
  hostname: text(1_024).optional(),
  host_name: text(1_024).optional(),
  host: text(1_024).optional(),
  tags,
  link: text(8 * 1024).optional(),
  url: text(8 * 1024).optional(),
  priority: text(32).optional(),
  org: z.object({ id: id(64), name: text(1_024).optional() }).optional(),
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
