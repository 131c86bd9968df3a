import { secret, TicketSeverity } from "@runwarden/core";
import type { Dispatcher } from "undici";
import { z } from "zod";

/**
 * How the connector signs in to Zabbix's JSON-RPC API:
 * - `token`: an API token (Users → API tokens, Zabbix 5.4+). Sent as the body's `auth` member on
 *   6.0–6.2 and as `Authorization: Bearer` on 6.4 and later. Never logged out.
 * - `password`: `user.login` once, the session reused for every call, a new login when Zabbix
 *   says the session ended, `user.logout` on close.
 */
export const ZabbixApiAuth = z.discriminatedUnion("type", [
  z.object({ type: z.literal("token"), token: secret(z.string().min(1)) }),
  z.object({
    type: z.literal("password"),
    username: z.string().min(1).max(100),
    password: secret(z.string().min(1)),
  }),
]);
export type ZabbixApiAuth = z.infer<typeof ZabbixApiAuth>;

/**
 * How a webhook from the Runwarden media type proves it comes from your Zabbix: the media type
 * sends `Authorization: Bearer <secret>` (its `Secret` parameter). `none` must be chosen explicitly.
 */
export const ZabbixWebhookAuth = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("bearer"),
    secret: secret(z.string().min(16, "use a secret of at least 16 characters")),
  }),
  z.object({ type: z.literal("none") }),
]);
export type ZabbixWebhookAuth = z.infer<typeof ZabbixWebhookAuth>;

const names = z.array(z.string().min(1).max(128)).min(1);

export const ZabbixConfig = z
  .strictObject({
    webhookAuth: ZabbixWebhookAuth,
    /**
     * The frontend's base URL (`https://zabbix.example.com/` or `…/zabbix/`): the API is
     * `<url>/api_jsonrpc.php`. With `auth`, enables pull, acknowledge and resolve.
     */
    url: z.url({ protocol: /^https?$/ }).optional(),
    auth: ZabbixApiAuth.optional(),
    mapping: z
      .strictObject({
        /** Zabbix severity (0 not classified … 5 disaster) → ticket severity. */
        severities: z
          .strictObject({
            "0": TicketSeverity.default("info"),
            "1": TicketSeverity.default("info"),
            "2": TicketSeverity.default("low"),
            "3": TicketSeverity.default("medium"),
            "4": TicketSeverity.default("high"),
            "5": TicketSeverity.default("critical"),
          })
          .prefault({}),
        /** Tag names for each field: the first present wins. */
        environment: names.default(["env", "environment"]),
        service: names.default(["service", "application"]),
        component: names.default(["component"]),
      })
      .prefault({}),
    pull: z
      .strictObject({
        /** Only problems of these Zabbix severities. Default: all. */
        severities: z.array(z.number().int().min(0).max(5)).min(1).optional(),
        /** Only problems of hosts in these host groups (ids). Default: every group the API user can read. */
        hostGroupIds: z.array(z.string().regex(/^\d+$/, "a host group id")).min(1).optional(),
        /** Only problems with all these tags (problem.get's `tags`, evaltype And/Or). */
        tags: z
          .array(
            z.strictObject({
              tag: z.string().min(1).max(255),
              value: z.string().max(255).default(""),
              operator: z.enum(["like", "equals", "exists"]).default("equals"),
            }),
          )
          .max(50)
          .optional(),
        /** Leave out problems suppressed by a maintenance. Default false (they come, marked). */
        skipSuppressed: z.boolean().default(false),
        /** Read this much before the cursor again, for clock skew and late events. Default 60 s. */
        overlapMs: z.number().int().min(0).max(3_600_000).default(60_000),
        pageSize: z.number().int().min(1).max(10_000).default(200),
        /** Pages read per query in one pull, so one pull stays bounded. */
        maxPages: z.number().int().min(1).max(1_000).default(50),
      })
      .prefault({}),
    actions: z
      .strictObject({
        /** `resolve` closes the problem (bit 1) when its trigger allows manual close; else it only adds the message. */
        close: z.boolean().default(true),
        /** The name the acknowledge and resolve messages sign with. */
        signature: z.string().min(1).max(64).default("Runwarden"),
      })
      .prefault({}),
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
    dispatcher: z.custom<Dispatcher>((value) => typeof value === "object" && value !== null).optional(),
  })
  .refine((c) => (c.url === undefined) === (c.auth === undefined), {
    message: "set both url and auth (the API needs both), or neither (webhook only)",
    path: ["auth"],
  });
export type ZabbixConfigInput = z.input<typeof ZabbixConfig>;
export type ZabbixConfig = z.output<typeof ZabbixConfig>;
