/**
 * The shapes Alertmanager sends and answers, as zod schemas (AM `notify/webhook/webhook.go`,
 * `template/template.go`, `api/v2/openapi.yaml`). Unknown fields are allowed: newer versions add
 * some (`notification_reason` in 0.32, `routeLabels` in 0.34).
 */
import { z } from "zod";

const LabelSet = z.record(z.string().max(1_024), z.string().max(64 * 1024));

/** One alert in a webhook notification. */
export const WebhookAlert = z.object({
  status: z.enum(["firing", "resolved"]),
  labels: LabelSet,
  annotations: LabelSet.default({}),
  startsAt: z.string().max(64),
  endsAt: z.string().max(64).optional(),
  generatorURL: z
    .string()
    .max(8 * 1024)
    .default(""),
  /** Absent before Alertmanager 0.19: then computed from the labels, as Alertmanager does. */
  fingerprint: z.string().min(1).max(256).optional(),
});
export type WebhookAlert = z.infer<typeof WebhookAlert>;

/** The webhook body, payload version 4. */
export const WebhookPayload = z.object({
  version: z.literal("4", { error: 'only Alertmanager webhook payload version "4" is supported' }),
  groupKey: z
    .string()
    .max(64 * 1024)
    .default(""),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(["firing", "resolved"]),
  receiver: z.string().max(1_024).default(""),
  groupLabels: LabelSet.default({}),
  commonLabels: LabelSet.default({}),
  commonAnnotations: LabelSet.default({}),
  externalURL: z
    .string()
    .max(8 * 1024)
    .default(""),
  alerts: z.array(WebhookAlert),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;

/** An alert as `GET /api/v2/alerts` returns it (`gettableAlert`). */
export const ApiAlert = z.object({
  labels: LabelSet,
  annotations: LabelSet.default({}),
  fingerprint: z.string().min(1).max(256),
  startsAt: z.string().max(64),
  updatedAt: z.string().max(64),
  endsAt: z.string().max(64).optional(),
  generatorURL: z
    .string()
    .max(8 * 1024)
    .default(""),
  receivers: z.array(z.object({ name: z.string() })).default([]),
  status: z.object({
    state: z.enum(["unprocessed", "active", "suppressed"]),
    silencedBy: z.array(z.string()).default([]),
    inhibitedBy: z.array(z.string()).default([]),
  }),
});
export type ApiAlert = z.infer<typeof ApiAlert>;

/** A silence as `GET /api/v2/silences` returns it (`gettableSilence`). */
export const ApiSilence = z.object({
  id: z.string(),
  status: z.object({ state: z.enum(["expired", "active", "pending"]) }),
  comment: z.string().default(""),
  createdBy: z.string().default(""),
  matchers: z.array(z.object({ name: z.string(), value: z.string() }).loose()).default([]),
  startsAt: z.string(),
  endsAt: z.string(),
});
export type ApiSilence = z.infer<typeof ApiSilence>;
