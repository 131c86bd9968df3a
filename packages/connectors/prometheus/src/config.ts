import { secret, serviceLabelKeys, severityLabelKeys, TicketSeverity } from "@runwarden/core";
import type { Dispatcher } from "undici";
import { z } from "zod";

/**
 * How Alertmanager's webhook proves it is Alertmanager: the `http_config` of its
 * `webhook_config` — `authorization` (Bearer) or `basic_auth`. `none` must be chosen explicitly.
 */
export const WebhookAuth = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("bearer"),
    /** The `credentials` (or `credentials_file` content) of Alertmanager's `authorization`. */
    token: secret(z.string().min(16, "use a token of at least 16 characters")),
  }),
  z.object({
    type: z.literal("basic"),
    username: z.string().min(1),
    password: secret(z.string().min(12, "use a password of at least 12 characters")),
  }),
  z.object({ type: z.literal("none") }),
]);
export type WebhookAuth = z.infer<typeof WebhookAuth>;

/** Credentials for Alertmanager's API (`--web.config.file` basic auth, or a proxy's bearer token). */
export const ApiAuth = z.discriminatedUnion("type", [
  z.object({ type: z.literal("bearer"), token: secret(z.string().min(1)) }),
  z.object({ type: z.literal("basic"), username: z.string().min(1), password: secret(z.string().min(1)) }),
]);
export type ApiAuth = z.infer<typeof ApiAuth>;

const labelList = z.array(z.string().min(1)).min(1);

/**
 * Which labels and annotations feed which ticket field. Severity: the first label whose value is a
 * known severity (an unknown one does not stop the search). Service: the first label present,
 * then `job` unless it names an exporter (`node`, `kube-state-metrics`, `blackbox`). Others: the
 * first one present wins.
 */
export const FieldMapping = z.object({
  severity: labelList.default([...severityLabelKeys]),
  environment: labelList.default(["env", "environment"]),
  service: labelList.default([...serviceLabelKeys]),
  /** Labels naming the affected host; the first is copied to `metaData.host` without its port. */
  host: labelList.default(["instance", "host", "hostname", "node"]),
  /** Annotations for the title; when none is set, `<alertname> on <instance>`. */
  title: labelList.default(["summary", "title"]),
  description: labelList.default(["description", "message", "summary"]),
});
export type FieldMapping = z.infer<typeof FieldMapping>;

/** Label values (lower-cased) understood as each severity; merged over these defaults. */
export const defaultSeverities: Readonly<Record<string, TicketSeverity>> = {
  critical: "critical",
  crit: "critical",
  page: "critical",
  emergency: "critical",
  fatal: "critical",
  p1: "critical",
  high: "high",
  error: "high",
  major: "high",
  p2: "high",
  warning: "medium",
  warn: "medium",
  medium: "medium",
  average: "medium",
  p3: "medium",
  low: "low",
  minor: "low",
  p4: "low",
  info: "info",
  informational: "info",
  notice: "info",
  none: "info",
  p5: "info",
};

export const PrometheusConfig = z.object({
  /** How webhooks are authenticated. Required: choose `{ type: "none" }` deliberately. */
  webhookAuth: WebhookAuth,
  /**
   * Alertmanager's base URL (`http://127.0.0.1:9093`). Without it the connector is webhook-only:
   * no pull, acknowledge or resolve.
   */
  url: z.url({ protocol: /^https?$/ }).optional(),
  apiAuth: ApiAuth.optional(),
  mapping: FieldMapping.prefault({}),
  /** Extra label value → severity entries (keys are compared lower-cased). */
  severities: z.record(z.string(), TicketSeverity).default({}),
  /** Severity when the severity label is missing or unknown (a warning says so). */
  defaultSeverity: TicketSeverity.default("medium"),
  /** Environment when no environment label is set. */
  defaultEnvironment: z.string().max(64).default(""),
  pull: z
    .object({
      /** Matchers passed as `filter` (`alertname="X"`, `team=~"sre|ops"`). */
      filter: z.array(z.string().min(1)).default([]),
      /** A receiver regex: only alerts routed to it. */
      receiver: z.string().optional(),
      includeSilenced: z.boolean().default(false),
      includeInhibited: z.boolean().default(false),
    })
    .prefault({}),
  silence: z
    .object({
      /** How long an acknowledgement silences the alert. Default 2 hours. */
      durationMs: z
        .number()
        .int()
        .min(60_000)
        .max(30 * 24 * 3_600_000)
        .default(2 * 3_600_000),
      createdBy: z.string().min(1).max(100).default("runwarden"),
    })
    .prefault({}),
  limits: z
    .object({
      /** Largest webhook body accepted, in bytes. Default 5 MiB. */
      maxBodyBytes: z
        .number()
        .int()
        .positive()
        .default(5 * 1024 * 1024),
      /** Most alerts accepted in one notification. Default 2,000. */
      maxAlerts: z.number().int().positive().default(2_000),
    })
    .prefault({}),
  /** Per-request timeout for the API, in ms. Default 10 s. */
  timeoutMs: z.number().int().positive().default(10_000),
  /** An undici dispatcher (a MockAgent in tests, a proxy agent). */
  dispatcher: z.custom<Dispatcher>((value) => typeof value === "object" && value !== null).optional(),
});
/** The connector's configuration, as written by the user. */
export type PrometheusConfigInput = z.input<typeof PrometheusConfig>;
/** The configuration after validation, defaults applied. */
export type PrometheusConfig = z.output<typeof PrometheusConfig>;
