import { secret, TicketSeverity, TicketStatus } from "@runwarden/core";
import type { Dispatcher } from "undici";
import { z } from "zod";

/** How Runwarden signs in to the instance. */
export const ServiceNowAuth = z.discriminatedUnion("type", [
  z.object({ type: z.literal("basic"), username: z.string().min(1), password: secret(z.string().min(1)) }),
  z.object({
    /**
     * OAuth client credentials at `/oauth_token.do`; the instance needs
     * `glide.oauth.inbound.client.credential.grant_type.enabled`. The token is cached until expiry.
     */
    type: z.literal("oauth"),
    clientId: z.string().min(1),
    clientSecret: secret(z.string().min(1)),
    tokenPath: z.string().startsWith("/").default("/oauth_token.do"),
  }),
]);
export type ServiceNowAuth = z.infer<typeof ServiceNowAuth>;

const code = z.enum(["1", "2", "3"]);

/** Impact/urgency per severity: 1/1 → priority 1 (Critical) … 3/3 → 5 (Planning). */
export const defaultSeverities: Readonly<
  Record<TicketSeverity, { impact: "1" | "2" | "3"; urgency: "1" | "2" | "3" }>
> = {
  critical: { impact: "1", urgency: "1" },
  high: { impact: "1", urgency: "2" },
  medium: { impact: "2", urgency: "2" },
  low: { impact: "2", urgency: "3" },
  info: { impact: "3", urgency: "3" },
};

/** Runwarden status → incident state: 1 New, 2 In Progress, 6 Resolved, 7 Closed. */
export const defaultStates: Readonly<Record<TicketStatus, string>> = {
  new: "1",
  analyzed: "1",
  executing: "2",
  needs_human: "2",
  failed: "2",
  resolved: "6",
  closed: "7",
};
const sysId = z.string().regex(/^[0-9a-f]{32}$/, "a 32-character sys_id");

export const ServiceNowConfig = z.object({
  /** `https://<instance>.service-now.com` */
  instanceUrl: z.url({ protocol: /^https?$/ }),
  auth: ServiceNowAuth,
  /** Impact and urgency per severity, over `defaultSeverities`; ServiceNow derives priority from the pair. */
  severities: z.partialRecord(TicketSeverity, z.object({ impact: code, urgency: code })).default({}),
  /** Runwarden ticket status → incident `state` code (instance choices), over `defaultStates`. */
  states: z.partialRecord(TicketStatus, z.string().regex(/^\d+$/)).default({}),
  /** States that mean the incident is over remotely (Resolved, Closed, Canceled). */
  closedStates: z.array(z.string().regex(/^\d+$/)).default(["6", "7", "8"]),
  /** `close_code` when resolving or closing: the choices depend on the release ("Solved (Permanently)"…). */
  closeCode: z.string().min(1).max(100).default("Solution provided"),
  closeNotes: z.string().min(1).max(4_000).default("Resolved by Runwarden."),
  defaults: z
    .object({
      /** sys_id (or name) of the assignment group for new incidents. */
      assignmentGroup: z.string().max(100).optional(),
      /** sys_id (or user name) of the caller. */
      callerId: z.string().max(100).optional(),
      category: z.string().max(100).optional(),
      correlationDisplay: z.string().max(100).default("Runwarden"),
      /** More fields set on every new incident (`contact_type`, `cmdb_ci`…). */
      fields: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.string().max(4_000)).default({}),
    })
    .prefault({}),
  pull: z
    .object({
      /** Only incidents of these assignment groups (sys_ids). Empty: every incident the user may read. */
      assignmentGroups: z.array(sysId).default([]),
      /** An extra encoded query ANDed in (`active=true`); written by you, never by a ticket. */
      query: z.string().max(2_000).default(""),
      /** Where the first pull starts, back from now. Default 24 hours. */
      lookbackMs: z
        .number()
        .int()
        .positive()
        .default(24 * 3_600_000),
      pageSize: z.number().int().min(1).max(10_000).default(100),
      /** Pages read in one pull; the cursor continues from the last record read. */
      maxPages: z.number().int().min(1).max(1_000).default(20),
    })
    .prefault({}),
  timeoutMs: z.number().int().positive().default(30_000),
  dispatcher: z.custom<Dispatcher>((value) => typeof value === "object" && value !== null).optional(),
});
export type ServiceNowConfigInput = z.input<typeof ServiceNowConfig>;
export type ServiceNowConfig = z.output<typeof ServiceNowConfig>;
