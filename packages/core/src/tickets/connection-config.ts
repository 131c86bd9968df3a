/**
 * Setting where a ticket's steps may run after it arrived: the connector guide's "Option 2: via
 * ticket metadata" (`{ "ticket_id": 123, "meta_data": { "connection_config": { … } } }`). Only
 * `meta_data.connection_config` changes. It is honoured by the same rules as one sent at
 * creation: only for a runbook that opts in with `ticket_connections`, only within that list, a
 * raw host only when the policy allows it, a credential only of the ticket's environment (see
 * docs/security.md); checked when a session is planned, never here.
 */
import { z } from "zod";
import type { Ticket } from "../domain.js";
import { isRunwardenError, rwError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import type { AuditRecorder } from "../runbooks.js";
import type { TicketQueries } from "./queries.js";

const Scalar = z.union([z.string().max(256), z.number().finite(), z.boolean(), z.null()]);

/**
 * A ticket's `connection_config`: the guide's fields (`connector_type`, `host`, `port`,
 * `username`, `credential_id`) or a registered connection (`connection`, `connection_id`), as
 * flat scalar values. Never a secret: a password belongs in a credential, named by its id.
 */
export const TicketConnectionConfig = z
  .object({
    connector_type: z.string().max(64).optional(),
    connection_type: z.string().max(64).optional(),
    connection: z.string().max(256).optional(),
    connection_name: z.string().max(256).optional(),
    name: z.string().max(256).optional(),
    connection_id: z.number().int().positive().optional(),
    host: z.string().min(1).max(253).optional(),
    port: z.number().int().min(1).max(65_535).optional(),
    username: z.string().max(256).optional(),
    credential_id: z.number().int().positive().nullable().optional(),
  })
  .catchall(Scalar)
  .superRefine((config, issues) => {
    if (Object.keys(config).length > 32) issues.addIssue({ code: "custom", message: "at most 32 fields" });
    for (const key of Object.keys(config)) {
      if (/pass|secret|token|private_key/i.test(key)) {
        issues.addIssue({
          code: "custom",
          path: [key],
          message:
            "a secret does not belong on a ticket: store it in a credential and name its credential_id",
        });
      }
    }
  });

export interface ConnectionConfigOptions {
  actor?: string;
  origin?: string;
}

/**
 * Sets (or, with null, removes) `metaData.connection_config` of a ticket, audited, retried on a
 * concurrent write. Throws RW_ERR_STORAGE_NOT_FOUND and RW_ERR_INPUT_INVALID (by field).
 */
export function createConnectionConfigSetter(
  ctx: EngineContext,
  deps: { queries: TicketQueries; audit: AuditRecorder },
) {
  const log = ctx.logger.child({ component: "tickets" });
  return async function setConnectionConfig(
    id: number,
    config: Record<string, unknown> | null,
    options: ConnectionConfigOptions = {},
  ): Promise<Ticket> {
    let checked: Record<string, unknown> | null = null;
    if (config !== null) {
      const parsed = TicketConnectionConfig.safeParse(config);
      if (!parsed.success) {
        const fields = parsed.error.issues.map((issue) => ({
          field: ["meta_data", "connection_config", ...issue.path.map(String)].join("."),
          message: issue.message,
        }));
        throw rwError("RW_ERR_INPUT_INVALID", "the ticket's connection_config is invalid", {
          details: { fields },
        });
      }
      checked = parsed.data;
    }
    for (let attempt = 0; ; attempt++) {
      const ticket = await deps.queries.get(id);
      const metaData = { ...ticket.metaData };
      if (checked === null) delete metaData.connection_config;
      else metaData.connection_config = checked;
      try {
        const updated = await ctx.storage.tickets.update(id, ticket.version, {
          metaData,
          updatedAt: ctx.nowIso(),
        });
        await deps.audit.record({
          actor: options.actor ?? "system",
          action: checked === null ? "ticket.connection_config_removed" : "ticket.connection_config_set",
          objectType: "ticket",
          objectId: String(id),
          origin: options.origin ?? null,
          details: checked === null ? {} : { connectionConfig: checked },
        });
        ctx.events.emit("ticket:updated", {
          ticketId: id,
          status: updated.status,
          reason: updated.statusReason ?? null,
        });
        log.info({ ticketId: id }, "ticket connection_config changed");
        return updated;
      } catch (err) {
        if (attempt >= 4 || !isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT") throw err;
      }
    }
  };
}
