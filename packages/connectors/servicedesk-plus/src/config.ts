import { secret, TicketSeverity, TicketStatus } from "@runwarden/core";
import type { Dispatcher } from "undici";
import { z } from "zod";

/**
 * How Runwarden signs in. On-premises: a technician's API key in the `authtoken` header. Cloud
 * (SDP On-Demand): a Zoho OAuth refresh token, exchanged at `<accountsUrl>/oauth/v2/token` for
 * access tokens sent as `Authorization: Zoho-oauthtoken <token>`.
 */
export const ServiceDeskPlusAuth = z.discriminatedUnion("type", [
  z.object({ type: z.literal("authtoken"), authtoken: secret(z.string().min(1)) }),
  z.object({
    type: z.literal("oauth"),
    clientId: z.string().min(1),
    clientSecret: secret(z.string().min(1)),
    refreshToken: secret(z.string().min(1)),
    /** The Zoho accounts server of the data centre: `.com`, `.eu`, `.in`, `.com.au`, `.com.cn`. */
    accountsUrl: z.url({ protocol: /^https?$/ }).default("https://accounts.zoho.com"),
  }),
]);
export type ServiceDeskPlusAuth = z.infer<typeof ServiceDeskPlusAuth>;

const name = z.string().min(1).max(100);

/** Priority (and optionally impact and urgency) names per severity; the names are instance-configured. */
export const defaultSeverities: Readonly<
  Record<TicketSeverity, { priority?: string; impact?: string; urgency?: string }>
> = {
  critical: { priority: "High" },
  high: { priority: "High" },
  medium: { priority: "Medium" },
  low: { priority: "Low" },
  info: { priority: "Low" },
};

/**
 * Runwarden status → request status name. `closed` is special: it goes through the close
 * endpoint with closure info instead of a status change.
 */
export const defaultStatuses: Readonly<Record<TicketStatus, string>> = {
  new: "Open",
  analyzed: "Open",
  executing: "In Progress",
  needs_human: "On Hold",
  failed: "On Hold",
  resolved: "Resolved",
  closed: "Closed",
};

/** Priority name (lower-cased) → severity, for requests brought in. */
export const defaultPriorityToSeverity: Readonly<Record<string, TicketSeverity>> = {
  urgent: "critical",
  high: "high",
  medium: "medium",
  normal: "medium",
  low: "low",
};

export const ServiceDeskPlusConfig = z.object({
  /**
   * The API root, without `/api/v3`: `https://sdp.example.com:8080` on-premises,
   * `https://sdpondemand.manageengine.com/app/<portal>` on Cloud (or without `/app/<portal>` on
   * older Cloud sites).
   */
  baseUrl: z.url({ protocol: /^https?$/ }),
  auth: ServiceDeskPlusAuth,
  /**
   * The note wrapper key: `request_note` (Cloud docs) or `note` (on-premises docs). Default:
   * `note` with `authtoken`, `request_note` with OAuth.
   */
  noteKey: z.enum(["note", "request_note"]).optional(),
  /** Priority/impact/urgency names per severity, over `defaultSeverities`. */
  severities: z
    .partialRecord(
      TicketSeverity,
      z.object({ priority: name.optional(), impact: name.optional(), urgency: name.optional() }),
    )
    .default({}),
  /** Runwarden status → request status name, over `defaultStatuses`. */
  statuses: z.partialRecord(TicketStatus, name).default({}),
  /** Status names that mean the request is over remotely. */
  closedStatuses: z.array(name).default(["Resolved", "Closed", "Canceled", "Cancelled"]),
  /** Closure info sent when closing. `closureCode` must be one of the instance's closure codes. */
  closure: z
    .object({
      closureCode: name.default("Success"),
      closureComments: z.string().min(1).max(4_000).default("Closed by Runwarden."),
      requesterAckResolution: z.boolean().default(false),
    })
    .prefault({}),
  /**
   * A single-line additional field (`udf_sline_301`) holding the idempotency key of requests
   * Runwarden creates; lookups then search that field. Without it, the key goes into a marker
   * line at the end of the description and lookups search the description.
   */
  correlationField: z
    .string()
    .regex(/^udf_[a-z]+_\d+$/, "an additional field key such as udf_sline_301")
    .optional(),
  defaults: z
    .object({
      /** Requester name for new requests (the API key's technician when absent). */
      requester: name.optional(),
      requestType: name.default("Incident"),
      group: name.optional(),
      technician: name.optional(),
      category: name.optional(),
      site: name.optional(),
    })
    .prefault({}),
  pull: z
    .object({
      /** Only requests of these groups (names). Empty: every request the technician may read. */
      groups: z.array(name).max(50).default([]),
      /** Where the first pull starts, back from now. Default 24 hours. */
      lookbackMs: z
        .number()
        .int()
        .positive()
        .default(24 * 3_600_000),
      /** `row_count` per page; the API allows at most 100. */
      pageSize: z.number().int().min(1).max(100).default(100),
      maxPages: z.number().int().min(1).max(1_000).default(20),
    })
    .prefault({}),
  timeoutMs: z.number().int().positive().default(30_000),
  dispatcher: z.custom<Dispatcher>((value) => typeof value === "object" && value !== null).optional(),
});
export type ServiceDeskPlusConfigInput = z.input<typeof ServiceDeskPlusConfig>;
export type ServiceDeskPlusConfig = z.output<typeof ServiceDeskPlusConfig>;
