/**
 * The inbound half of ticket sync: polls the connector's `pullChanges` with a cursor persisted
 * after each applied batch. New remote tickets come in through intake; a remote close closes the
 * local ticket and cancels the sessions waiting on it. Applying a change twice (a crash between
 * applying and saving the cursor) changes nothing the second time.
 */
import type { Logger } from "pino";
import type { Ticket, TicketInput, TicketStatus } from "../domain.js";
import { isRunwardenError } from "../errors.js";
import { callSignal, endCallSignal } from "../internal/call-signal.js";
import type { RemoteChange, TicketingConnector } from "../plugin.js";
import type { Storage } from "../storage.js";
import { remoteReasonPrefix, reverseRefKey } from "./outbox.js";

export interface InboundDeps {
  storage: Storage;
  logger: Logger;
  connector: TicketingConnector;
  target: string;
  /** The service's lifetime: each pull's signal includes it. */
  signal: AbortSignal;
  /** How long one `pullChanges` may take. */
  pullTimeoutMs: number;
  /** Brings a new remote ticket in (engine: `tickets.ingest`). */
  ingest(input: TicketInput): Promise<{ ticket: Ticket }>;
  /** Cancels the sessions waiting on a ticket (engine: the executor's ticket-resolved hook). */
  cancelSessions(ticket: Ticket, reason: string): Promise<void>;
  /** Sets a ticket's status (engine: `tickets.setStatus`). */
  setStatus(ticketId: number, status: TicketStatus, reason: string): Promise<Ticket>;
}

/** What one inbound poll of the ticketing tool did. */
export interface PollResult {
  /** Changes the connector returned. */
  changes: number;
  /** Tickets brought in. */
  created: number;
  /** Local tickets closed because their remote ticket was closed. */
  closed: number;
}

/** Local statuses whose delivery the remote side may report back as closed. */
const echoStatuses: ReadonlySet<TicketStatus> = new Set(["resolved"]);
const echoPageSize = 100;

/** The key under which the pull cursor is kept (setValue). */
export const cursorKey = (target: string) => `sync:${target}:cursor`;

export interface Inbound {
  poll(): Promise<PollResult>;
}

export function createInbound(deps: InboundDeps): Inbound {
  const { storage, connector, target } = deps;
  const log = deps.logger;
  const pull = connector.pullChanges?.bind(connector);

  /** The local ticket a remote one maps to: brought in from it, or pushed to it by the outbox. */
  async function localTicket(externalId: string): Promise<Ticket | undefined> {
    const [own] = await storage.tickets.find({
      where: { source: target, externalId },
      order: "desc",
      limit: 1,
    });
    if (own) return own;
    const pushed = await storage.getValue(reverseRefKey(target, externalId));
    return pushed === undefined ? undefined : storage.tickets.get(Number(pushed));
  }

  /** A remote ticket this engine created (its correlation is our create key), seen before the mapping was saved. */
  function isOwnEcho(change: RemoteChange): boolean {
    const correlation = change.ticket?.metaData?.correlationId;
    return (
      typeof correlation === "string" && new RegExp(`^${escapeRegExp(target)}:\\d+:create$`).test(correlation)
    );
  }

  /**
   * Whether a remote close is the echo of our own write: the last status the outbox delivered for
   * this ticket is a done status (`resolved`) and the ticket still has it. A remote tool that
   * closes what we marked solved (Zendesk `solved` → `closed`, ServiceNow `Resolved`) reports it
   * back as closed; that is not a person closing the ticket, so nothing is cancelled or changed.
   */
  async function isOwnCloseEcho(ticket: Ticket): Promise<boolean> {
    if (!echoStatuses.has(ticket.status)) return false;
    let cursor: number | undefined;
    for (;;) {
      const page = await storage.outbox.find({
        where: { target, ticketId: ticket.id, status: "delivered" },
        order: "desc",
        limit: echoPageSize,
        ...(cursor === undefined ? {} : { cursor }),
      });
      // Skipped items (superseded) carry a lastError: only a write that reached the remote counts.
      const last = page.find((item) => item.kind === "status" && item.lastError === null);
      if (last) return (last.payload as { status?: unknown }).status === ticket.status;
      if (page.length < echoPageSize) return false;
      cursor = page[page.length - 1]!.id;
    }
  }

  async function apply(change: RemoteChange, result: PollResult): Promise<void> {
    const known = await localTicket(change.externalId);
    if (change.kind === "closed") {
      if (!known || known.status === "closed") return;
      if (await isOwnCloseEcho(known)) {
        log.debug({ ticketId: known.id, externalId: change.externalId }, "remote close echoes our own write");
        return;
      }
      const reason = `${remoteReasonPrefix} closed in ${target}`;
      await deps.cancelSessions(known, `closed in ${target}`);
      await deps.setStatus(known.id, "closed", reason);
      result.closed++;
      log.info({ ticketId: known.id, externalId: change.externalId }, "ticket closed remotely");
      return;
    }
    // `created`, or `updated` for a ticket we never saw (moved into a pulled group): bring it in.
    if (known || !change.ticket || isOwnEcho(change)) return;
    const { ticket } = await deps.ingest({
      ...change.ticket,
      source: target,
      externalId: change.externalId,
      resolved: undefined,
    });
    result.created++;
    log.info({ ticketId: ticket.id, externalId: change.externalId }, "remote ticket brought in");
  }

  return {
    async poll() {
      const result: PollResult = { changes: 0, created: 0, closed: 0 };
      if (!pull) return result;
      const cursor = await storage.getValue(cursorKey(target));
      const signal = callSignal(deps.signal, deps.pullTimeoutMs);
      const batch = await pull({ ...(cursor === undefined ? {} : { cursor }), signal }).finally(() =>
        endCallSignal(signal),
      );
      result.changes = batch.changes.length;
      for (const change of batch.changes) {
        try {
          await apply(change, result);
        } catch (err) {
          // A remote ticket that intake refuses must not stall the rest: it is logged and skipped.
          // Anything else (the store is down) stops here; the cursor stays and the batch replays.
          if (!isRunwardenError(err) || err.code !== "RW_ERR_INPUT_INVALID") throw err;
          log.error(
            { err, externalId: change.externalId.slice(0, 64), kind: change.kind },
            "remote change refused",
          );
        }
      }
      await storage.setValue(cursorKey(target), batch.cursor);
      if (result.changes > 0) log.debug({ ...result }, "remote changes applied");
      return result;
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
