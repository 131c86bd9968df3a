import { secret, TicketSeverity, TicketStatus } from "@runwarden/core";
import type { Dispatcher } from "undici";
import { z } from "zod";

/** Impact values of a default Incident Management install. */
export const RemedyImpact = z.enum([
  "1-Extensive/Widespread",
  "2-Significant/Large",
  "3-Moderate/Limited",
  "4-Minor/Localized",
]);
export type RemedyImpact = z.infer<typeof RemedyImpact>;

/** Urgency values of a default Incident Management install. */
export const RemedyUrgency = z.enum(["1-Critical", "2-High", "3-Medium", "4-Low"]);
export type RemedyUrgency = z.infer<typeof RemedyUrgency>;

/**
 * Impact and urgency per severity. Remedy computes Priority from the two (default weights: impact
 * 9/5/3/0 plus urgency 20/15/10/0; Critical from 24, High from 18, Medium from 10, else Low), so
 * these defaults give Critical, High, Medium, Low and Low.
 */
export const defaultSeverities: Readonly<
  Record<TicketSeverity, { impact: RemedyImpact; urgency: RemedyUrgency }>
> = {
  critical: { impact: "1-Extensive/Widespread", urgency: "1-Critical" },
  high: { impact: "2-Significant/Large", urgency: "2-High" },
  medium: { impact: "3-Moderate/Limited", urgency: "3-Medium" },
  low: { impact: "4-Minor/Localized", urgency: "4-Low" },
  info: { impact: "4-Minor/Localized", urgency: "4-Low" },
};

/** Runwarden status → incident Status (default install values). */
export const defaultStatuses: Readonly<Record<TicketStatus, string>> = {
  new: "Assigned",
  analyzed: "Assigned",
  executing: "In Progress",
  needs_human: "In Progress",
  failed: "In Progress",
  resolved: "Resolved",
  closed: "Closed",
};

/** Priority (computed by Remedy) → severity, for incidents brought in. */
export const defaultPriorityToSeverity: Readonly<Record<string, TicketSeverity>> = {
  Critical: "critical",
  High: "high",
  Medium: "medium",
  Low: "low",
};

/** An AR field name as it appears in a qualification between single quotes. */
const fieldName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9 _-]{0,79}$/, "an AR field name (letters, digits, space, _ and -)");
/** A value placed between double quotes in a qualification or sent as a field value. */
const plain = z
  .string()
  .min(1)
  .max(254)
  .regex(/^[^"'\\\r\n]*$/, "no quotes, backslashes or line breaks");

export const RemedyConfig = z.object({
  /** The AR REST API root (Jetty port), e.g. `https://remedy.example.com:8008`. */
  serverUrl: z.url({ protocol: /^https?$/ }),
  /** An AR user for `POST /api/jwt/login`; `authString` is the optional authentication string. */
  auth: z.object({
    username: z.string().min(1).max(254),
    password: secret(z.string().min(1)),
    authString: secret(z.string().min(1)).optional(),
  }),
  /** The customer (a People record) new incidents are reported for. */
  customer: z.object({ firstName: plain, lastName: plain }),
  /** Impact and urgency per severity, over `defaultSeverities`. */
  severities: z
    .partialRecord(TicketSeverity, z.object({ impact: RemedyImpact, urgency: RemedyUrgency }))
    .default({}),
  /** Runwarden status → incident Status, over `defaultStatuses`. */
  statuses: z.partialRecord(TicketStatus, plain).default({}),
  /** Statuses that mean the incident is over remotely. */
  closedStatuses: z.array(plain).default(["Resolved", "Closed", "Cancelled"]),
  /** Sent with a move to Resolved or Closed: `Status_Reason` and `Resolution`. */
  resolution: z
    .object({
      statusReason: plain.default("Automated Resolution Reported"),
      text: z.string().min(1).max(4_000).default("Resolved by Runwarden."),
    })
    .prefault({}),
  /**
   * The character field of `HPD:IncidentInterface_Create` and `HPD:IncidentInterface` holding the
   * idempotency key of incidents Runwarden creates.
   */
  correlationField: fieldName.default("Vendor Ticket Number"),
  defaults: z
    .object({
      reportedSource: plain.default("Systems Management"),
      serviceType: plain.default("Infrastructure Event"),
      company: plain.optional(),
      supportOrganization: plain.optional(),
      assignedGroup: plain.optional(),
      assignee: plain.optional(),
      templateId: plain.optional(),
      /** More fields set on every new incident, by AR field name. */
      fields: z.record(fieldName, z.string().max(4_000)).default({}),
    })
    .prefault({}),
  workLog: z
    .object({
      type: plain.default("Working Log"),
      viewAccess: z.enum(["Internal", "Public"]).default("Internal"),
    })
    .prefault({}),
  pull: z
    .object({
      /** Only incidents of these assigned groups. Empty: every incident the user may read. */
      assignedGroups: z.array(plain).max(50).default([]),
      /** An extra qualification ANDed in (`'Company' = "Calbro Services"`); written by you, never by a ticket. */
      qualification: z.string().max(2_000).default(""),
      lookbackMs: z
        .number()
        .int()
        .positive()
        .default(24 * 3_600_000),
      pageSize: z.number().int().min(1).max(1_000).default(100),
      maxPages: z.number().int().min(1).max(1_000).default(20),
    })
    .prefault({}),
  /** A JWT lasts about an hour: log in again after this long (and on any 401). */
  tokenTtlMs: z
    .number()
    .int()
    .positive()
    .default(50 * 60_000),
  timeoutMs: z.number().int().positive().default(30_000),
  dispatcher: z.custom<Dispatcher>((value) => typeof value === "object" && value !== null).optional(),
});
export type RemedyConfigInput = z.input<typeof RemedyConfig>;
export type RemedyConfig = z.output<typeof RemedyConfig>;
