import { secret, TicketSeverity } from "@runwarden/core";
import type { Dispatcher } from "undici";
import { z } from "zod";

/** Datadog sites: the API lives at `https://api.<site>`. */
export const datadogSites = [
  "datadoghq.com",
  "us3.datadoghq.com",
  "us5.datadoghq.com",
  "datadoghq.eu",
  "ap1.datadoghq.com",
  "ap2.datadoghq.com",
  "uk1.datadoghq.com",
  "ddog-gov.com",
  "us2.ddog-gov.com",
] as const;
export type DatadogSite = (typeof datadogSites)[number];

/**
 * How a webhook proves it comes from your Datadog org. Datadog signs nothing; the Webhooks tile
 * sends the custom headers you configure (keep the secret in a hidden custom variable), or basic
 * auth written into the URL. `none` must be chosen explicitly.
 */
export const WebhookAuth = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("header"),
    /** The custom header carrying the secret. */
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, "a header name")
      .default("X-Runwarden-Webhook-Secret"),
    secret: secret(z.string().min(16, "use a secret of at least 16 characters")),
  }),
  z.object({
    type: z.literal("basic"),
    username: z.string().min(1),
    password: secret(z.string().min(12, "use a password of at least 12 characters")),
  }),
  z.object({ type: z.literal("none") }),
]);
export type WebhookAuth = z.infer<typeof WebhookAuth>;

const names = z.array(z.string().min(1)).min(1);

export const DatadogConfig = z
  .object({
    webhookAuth: WebhookAuth,
    site: z.enum(datadogSites).default("datadoghq.com"),
    /** Overrides `https://api.<site>` (a proxy; a fake in tests). */
    apiUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** `DD-API-KEY`. With `applicationKey`, enables pull. */
    apiKey: secret(z.string().min(1)).optional(),
    /** `DD-APPLICATION-KEY` (scopes `monitors_read`, `events_read`; `monitors_downtime` to acknowledge). */
    applicationKey: secret(z.string().min(1)).optional(),
    mapping: z
      .object({
        /** `$ALERT_PRIORITY` → severity. */
        priorities: z
          .record(z.string(), TicketSeverity)
          .default({ P1: "critical", P2: "high", P3: "medium", P4: "low", P5: "info" }),
        /** Tag keys (`env:prod`) for each field: the first present wins. */
        environment: names.default(["env", "environment"]),
        service: names.default(["service"]),
        host: names.default(["host"]),
      })
      .prefault({}),
    /** Severity when there is no priority and the alert type says nothing (a warning says so). */
    defaultSeverity: TicketSeverity.default("medium"),
    pull: z
      .object({
        /** Monitor groups in these states (Monitors API, groups search). Empty: skip. */
        monitorStates: z.array(z.enum(["alert", "warn", "no data"])).default(["alert", "warn"]),
        /** More monitor search terms, e.g. `tag:"team:sre"`. */
        monitorQuery: z.string().max(1_000).default(""),
        /** Events v2 search query; empty skips events. */
        eventQuery: z.string().max(1_000).default("source:alert"),
        /** How far back the first pull (no `since`) reads events. Default 1 hour. */
        lookbackMs: z.number().int().positive().default(3_600_000),
        pageSize: z.number().int().min(1).max(1_000).default(100),
        /** Pages read per source in one pull, so one pull stays bounded. */
        maxPages: z.number().int().min(1).max(1_000).default(20),
      })
      .prefault({}),
    /** What `acknowledge` does: a Downtime (API v2) on the alert's monitor and scope, for this long. */
    downtime: z
      .object({
        durationMs: z
          .number()
          .int()
          .positive()
          .default(2 * 3_600_000),
      })
      .prefault({}),
    limits: z
      .object({
        maxBodyBytes: z
          .number()
          .int()
          .positive()
          .default(1024 * 1024),
      })
      .prefault({}),
    timeoutMs: z.number().int().positive().default(15_000),
    dispatcher: z.custom<Dispatcher>((value) => typeof value === "object" && value !== null).optional(),
  })
  .refine((c) => (c.apiKey === undefined) === (c.applicationKey === undefined), {
    message: "set both apiKey and applicationKey (pull needs both), or neither",
    path: ["applicationKey"],
  });
export type DatadogConfigInput = z.input<typeof DatadogConfig>;
export type DatadogConfig = z.output<typeof DatadogConfig>;
