/**
 * Reading tickets and setting their status: `get`, `getMany`, `list` (newest first, keyset
 * pages) and `setStatus` (the executor's transitions, retried on version conflicts).
 */
import type { Ticket, TicketStatus } from "../domain.js";
import { isRunwardenError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import { clampLimit, notFound, pageOf } from "../storage-kit.js";
import type { TicketsApi } from "./types.js";

/** The read side of the tickets API, plus `setStatus`. */
export type TicketQueries = Pick<TicketsApi, "get" | "getMany" | "list" | "setStatus">;

/** Creates the ticket queries. */
export function createTicketQueries(ctx: EngineContext): TicketQueries {
  const log = ctx.logger.child({ component: "tickets" });
  const { storage, events } = ctx;

  async function setStatus(id: number, status: TicketStatus, reason: string | null): Promise<Ticket> {
    for (let attempt = 0; ; attempt++) {
      const ticket = await get(id);
      try {
        const updated = await storage.tickets.update(id, ticket.version, {
          status,
          statusReason: reason,
          updatedAt: ctx.nowIso(),
        });
        events.emit("ticket:updated", { ticketId: id, status, reason });
        log.info({ ticketId: id, status }, "ticket status changed");
        return updated;
      } catch (err) {
        if (attempt >= 4 || !isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT") throw err;
      }
    }
  }

  async function get(id: number): Promise<Ticket> {
    const ticket = await storage.tickets.get(id);
    if (!ticket) throw notFound("ticket", id, `ticket ${id} does not exist`);
    return ticket;
  }

  return {
    get,
    async getMany(ids) {
      if (ids.length === 0) return [];
      return storage.tickets.find({ where: { id: { in: [...new Set(ids)] } } });
    },

    async list(query = {}) {
      const limit = clampLimit(query.limit);
      const where: { status?: TicketStatus | { in: readonly TicketStatus[] }; source?: string } = {};
      if (query.status !== undefined)
        where.status = typeof query.status === "string" ? query.status : { in: query.status };
      if (query.source) where.source = query.source;
      const items = await storage.tickets.find({
        where,
        order: "desc",
        limit: limit + 1,
        ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      });
      return pageOf(items, limit);
    },

    setStatus,
  };
}
