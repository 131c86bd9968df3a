import { secret, TicketSeverity } from "@runwarden/core";
import type { Dispatcher } from "undici";
import { z } from "zod";

/**
 * How a "Invoke a Web Hook" notification profile's request proves it comes from your OpManager.
 * OpManager signs nothing: the profile can send custom headers and HTTP basic credentials (both
 * from the profile form; see the README's caveat), or a proxy in front of Runwarden can add a header.
 * `none` must be chosen explicitly.
 */
export const WebhookAuth = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("header"),
    /** The header carrying the secret. */
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

const pem = z
  .string()
  .max(256 * 1024)
  .regex(/-----BEGIN CERTIFICATE-----/, "a PEM certificate (-----BEGIN CERTIFICATE-----)");

/** TLS towards OpManager: a CA for a self-signed certificate; verification on unless `verify: false`. */
export const OpManagerTls = z.strictObject({
  ca: pem.optional(),
  verify: z.boolean().default(true),
  servername: z.string().min(1).max(253).optional(),
});
export type OpManagerTls = z.infer<typeof OpManagerTls>;

/** OpManager severity names (listAlarms `severity`: 1 Critical, 2 Trouble, 3 Attention, 4 Service Down) → ticket severity. */
const defaultSeverities: Record<string, TicketSeverity> = {
  Critical: "critical",
  Trouble: "high",
  Attention: "medium",
  "Service Down": "critical",
};

export const OpManagerConfig = z
  .strictObject({
    webhookAuth: WebhookAuth,
    /** The OpManager web client's origin, e.g. `https://opmanager.example.com:8061` (8060 for HTTP). */
    url: z.url({ protocol: /^https?$/ }).optional(),
    /** The REST API key (Settings > Basic Settings > REST API), sent as the `apiKey` header. */
    apiKey: secret(z.string().min(1).max(512)).optional(),
    tls: OpManagerTls.prefault({}),
    mapping: z
      .strictObject({
        /** Severity name (`severityString`, the webhook's `$stringseverity`) → ticket severity. `Clear` resolves. */
        severities: z.record(z.string(), TicketSeverity).default(defaultSeverities),
        /** The ticket's environment and service when the alarm names none. */
        environment: z.string().max(64).default(""),
        service: z.string().max(128).default(""),
      })
      .prefault({}),
    /** Severity for a name the table does not have (a warning says so). */
    defaultSeverity: TicketSeverity.default("medium"),
    pull: z
      .strictObject({
        /** listAlarms `alertType`. */
        alertType: z
          .enum([
            "ActiveAlarms",
            "EventLogAlarms",
            "SyslogAlarms",
            "TrapAlarms",
            "NCMAlarms",
            "NFAAlarms",
            "WebAlarms",
            "FWAAlarms",
            "StorageAlarms",
          ])
          .default("ActiveAlarms"),
        /** listAlarms `category` (a device category such as `Server`), to pull only those. */
        category: z.string().min(1).max(128).optional(),
      })
      .prefault({}),
    /** What `resolve` does besides adding a note: `clear` (clearAlarm) or `note` (the note only). */
    resolveAction: z.enum(["clear", "note"]).default("clear"),
    limits: z
      .strictObject({
        maxBodyBytes: z
          .number()
          .int()
          .positive()
          .default(256 * 1024),
      })
      .prefault({}),
    timeoutMs: z.number().int().positive().default(15_000),
    /** An undici dispatcher (tests); replaces the TLS agent built from `tls`. */
    dispatcher: z.custom<Dispatcher>((value) => typeof value === "object" && value !== null).optional(),
  })
  .refine((c) => (c.apiKey === undefined) === (c.url === undefined), {
    message: "set both url and apiKey (the REST API needs both), or neither",
    path: ["apiKey"],
  });
export type OpManagerConfigInput = z.input<typeof OpManagerConfig>;
export type OpManagerConfig = z.output<typeof OpManagerConfig>;
