import { secret, TicketSeverity, TicketStatus } from "@runwarden/core";
import type { Dispatcher } from "undici";
import { z } from "zod";

/**
 * How Runwarden signs in to Zendesk: an agent's e-mail and an API token (sent as
 * `Authorization: Basic base64("{email}/token:{token}")`), or an OAuth access token (`Bearer`).
 */
export const ZendeskAuth = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("token"),
    email: z.email(),
    token: secret(z.string().min(1)),
  }),
  z.object({
    /** An OAuth access token with the `tickets:read tickets:write` scopes (or `read write`). */
    type: z.literal("oauth"),
    accessToken: secret(z.string().min(1)),
  }),
]);
export type ZendeskAuth = z.infer<typeof ZendeskAuth>;

/** A Zendesk ticket status Runwarden may set (`closed` is reached by Zendesk itself, `new` only at creation). */
export const ZendeskStatus = z.enum(["open", "pending", "hold", "solved"]);
export type ZendeskStatus = z.infer<typeof ZendeskStatus>;

/** A Zendesk ticket priority. */
export const ZendeskPriority = z.enum(["urgent", "high", "normal", "low"]);
export type ZendeskPriority = z.infer<typeof ZendeskPriority>;

/** Runwarden severity → Zendesk priority. */
export const defaultPriorities: Readonly<Record<TicketSeverity, ZendeskPriority>> = {
  critical: "urgent",
  high: "high",
  medium: "normal",
  low: "low",
  info: "low",
};

/**
 * Runwarden ticket status → Zendesk status. A session at work leaves the ticket `open` (it is
 * not waiting on the requester, which is what `pending` means); resolved tickets are `solved`.
 */
export const defaultStatuses: Readonly<Record<TicketStatus, ZendeskStatus>> = {
  new: "open",
  analyzed: "open",
  executing: "open",
  needs_human: "open",
  failed: "open",
  resolved: "solved",
  closed: "solved",
};

const subdomain = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/i, "the part before .zendesk.com, e.g. acme for acme.zendesk.com");

/** The Zendesk connector's configuration. */
export const ZendeskConfig = z
  .object({
    /** `acme` for `https://acme.zendesk.com`. */
    subdomain: subdomain.optional(),
    /** The API base URL instead of the subdomain (a host-mapped domain, or a test fake). */
    url: z.url({ protocol: /^https?$/ }).optional(),
    auth: ZendeskAuth,
    /** Priority per severity, over `defaultPriorities`. */
    priorities: z.partialRecord(TicketSeverity, ZendeskPriority).default({}),
    /** Zendesk status per Runwarden status, over `defaultStatuses`. */
    statuses: z.partialRecord(TicketStatus, ZendeskStatus).default({}),
    /** Statuses that mean the ticket is over remotely: a session waiting on it is cancelled. */
    closedStatuses: z.array(z.enum(["solved", "closed"])).default(["solved", "closed"]),
    defaults: z
      .object({
        /** Tags on every ticket Runwarden opens. */
        tags: z
          .array(z.string().regex(/^[\w:/.-]{1,80}$/, "a Zendesk tag"))
          .max(20)
          .default(["runwarden"]),
        /** The group new tickets are assigned to. */
        groupId: z.number().int().positive().optional(),
        /** The requester of new tickets (default: the API user). */
        requesterId: z.number().int().positive().optional(),
      })
      .prefault({}),
    pull: z
      .object({
        /** Only tickets of these groups. Empty: every group. */
        groupIds: z.array(z.number().int().positive()).default([]),
        /** Only tickets carrying at least one of these tags. Empty: any tags. */
        tags: z.array(z.string().regex(/^[\w:/.-]{1,80}$/)).default([]),
        /** Where the first pull starts, back from now. Default 24 hours. */
        lookbackMs: z
          .number()
          .int()
          .positive()
          .default(24 * 3_600_000),
        /** `per_page` of the export (the documented maximum is 1000). */
        pageSize: z.number().int().min(1).max(1_000).default(100),
        /** Pages read in one pull (the export allows 10 requests a minute). */
        maxPages: z.number().int().min(1).max(10).default(5),
      })
      .prefault({}),
    /** The webhook's signing secret (Admin Center → Webhooks → the webhook → Signing secret). */
    webhookSecret: secret(z.string().min(16)).optional(),
    /** How old a webhook's signature timestamp may be before it is refused as a replay. Default 5 minutes. */
    webhookToleranceMs: z
      .number()
      .int()
      .positive()
      .default(5 * 60_000),
    timeoutMs: z.number().int().positive().default(30_000),
    dispatcher: z.custom<Dispatcher>((value) => typeof value === "object" && value !== null).optional(),
  })
  .refine((config) => config.subdomain !== undefined || config.url !== undefined, {
    message: "set subdomain (acme for acme.zendesk.com) or url",
    path: ["subdomain"],
  });
export type ZendeskConfigInput = z.input<typeof ZendeskConfig>;
export type ZendeskConfig = z.output<typeof ZendeskConfig>;

/** The API base URL of a configuration: `url`, or `https://{subdomain}.zendesk.com`. */
export function zendeskBaseUrl(config: Pick<ZendeskConfig, "url" | "subdomain">): URL {
  return new URL(config.url ?? `https://${config.subdomain}.zendesk.com`);
}
