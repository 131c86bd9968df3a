import { secret, TicketSeverity } from "@runwarden/core";
import type { Dispatcher } from "undici";
import { z } from "zod";

/**
 * How an alert action's request proves it comes from your Orion server. Orion signs nothing: the
 * "Send a GET or POST Request to a Web Server" action can send HTTP basic authentication, and a
 * reverse proxy in front of Runwarden can add a header. `none` must be chosen explicitly.
 */
export const WebhookAuth = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("basic"),
    username: z.string().min(1),
    password: secret(z.string().min(12, "use a password of at least 12 characters")),
  }),
  z.object({
    type: z.literal("header"),
    /** The header carrying the secret. */
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, "a header name")
      .default("X-Runwarden-Webhook-Secret"),
    secret: secret(z.string().min(16, "use a secret of at least 16 characters")),
  }),
  z.object({ type: z.literal("none") }),
]);
export type WebhookAuth = z.infer<typeof WebhookAuth>;

/** A PEM certificate (or several, concatenated). */
const pem = z
  .string()
  .max(256 * 1024)
  .regex(/-----BEGIN CERTIFICATE-----/, "a PEM certificate (-----BEGIN CERTIFICATE-----)");

/**
 * TLS towards SWIS. Orion usually serves a self-signed certificate on 17774: give its CA (or the
 * certificate itself) in `ca`. Verification is on unless `verify: false` is set explicitly.
 */
export const SolarWindsTls = z.strictObject({
  /** Trusted CA certificates (PEM), used instead of Node's bundled roots. */
  ca: pem.optional(),
  /** Verify the server's certificate and name. Turning it off is logged as a warning on start. */
  verify: z.boolean().default(true),
  /** The name to verify the certificate against, when it differs from the URL's host. */
  servername: z.string().min(1).max(253).optional(),
});
export type SolarWindsTls = z.infer<typeof SolarWindsTls>;

/** `Orion.AlertConfigurations.Severity` names → ticket severity (OrionSDK docs/alerts.md). */
const defaultSeverities: Record<string, TicketSeverity> = {
  Critical: "critical",
  Serious: "high",
  Warning: "medium",
  Notice: "low",
  Information: "info",
  Informational: "info",
};

export const SolarWindsConfig = z
  .strictObject({
    webhookAuth: WebhookAuth,
    /**
     * The SWIS REST endpoint's origin, e.g. `https://orion.example.com:17774` (port 17778 before
     * Orion 2023.1). `/SolarWinds/InformationService/v3/Json/` is added unless the URL has a path.
     */
    url: z.url({ protocol: /^https?$/ }).optional(),
    /** An Orion (or AD) account that may acknowledge and clear alerts (the clearEvents right). */
    username: z.string().min(1).max(256).optional(),
    password: secret(z.string().min(1)).optional(),
    tls: SolarWindsTls.prefault({}),
    mapping: z
      .strictObject({
        /** Severity name (the webhook's `${N=Alerting;M=Severity}`, or the numeric one's name) → ticket severity. */
        severities: z.record(z.string(), TicketSeverity).default(defaultSeverities),
        /** The ticket's environment and service when the alert names none. */
        environment: z.string().max(64).default(""),
        service: z.string().max(128).default(""),
      })
      .prefault({}),
    /** Severity for a name the table does not have (a warning says so). */
    defaultSeverity: TicketSeverity.default("medium"),
    pull: z
      .strictObject({
        /** Rows per SWQL page (`WITH ROWS n TO m`). */
        pageSize: z.number().int().min(1).max(5_000).default(500),
        /** Pages read per query in one pull, so one pull stays bounded. */
        maxPages: z.number().int().min(1).max(1_000).default(20),
        /** How far back the first pull (no `since`) reads alert resets in `Orion.AlertHistory`. Default 1 hour. */
        lookbackMs: z.number().int().positive().default(3_600_000),
      })
      .prefault({}),
    /** What `resolve` does besides appending a note: `clear` (ClearAlert) or `note` (the note only). */
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
  .refine((c) => (c.username === undefined) === (c.password === undefined), {
    message: "set both username and password (the SWIS API needs both), or neither",
    path: ["password"],
  })
  .refine((c) => c.username === undefined || c.url !== undefined, {
    message: "set url (the SWIS endpoint, e.g. https://orion.example.com:17774) with the credentials",
    path: ["url"],
  });
export type SolarWindsConfigInput = z.input<typeof SolarWindsConfig>;
export type SolarWindsConfig = z.output<typeof SolarWindsConfig>;
