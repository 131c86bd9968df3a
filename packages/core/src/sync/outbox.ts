/**
 * The outbound half of ticket sync: engine events become outbox rows (idempotent work notes and
 * state changes), and a worker delivers them to the ticketing connector in id order per ticket,
 * with exponential backoff and jitter, until they are delivered or dead.
 *
 * Over 500 lines: the payload of each engine event and the delivery of a row (claim, send,
 * backoff, dead) are one flow; the loop shared with the monitoring poller lives in worker.ts.
 */
import type { Logger } from "pino";
import type { AuditLog } from "../audit.js";
import type { Ticket, TicketStatus } from "../domain.js";
import { isRunwardenError, rwError } from "../errors.js";
import type { EngineEventMap, EngineEvents } from "../events.js";
import { callSignal, endCallSignal } from "../internal/call-signal.js";
import type { RemoteTicketRef, TicketingConnector, TicketingWrite } from "../plugin.js";
import type { OutboxItem, Storage } from "../storage.js";

/** Timers the sync service schedules on; the testkit's fake clock fits. */
export interface SyncClock {
  /** The current time, in milliseconds since the epoch. */
  now(): number;
  /** Schedules `callback` after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a scheduled callback. */
  clearTimeout(handle: unknown): void;
}

/** What an outbox row asks the ticketing connector to do. */
export type OutboxPayload = { text: string } | { status: TicketStatus };
/** What an outbox row asks a monitoring connector to do (the monitoring poller's rows). */
export type MonitoringActionPayload =
  | { action: "acknowledge" | "resolve"; sessionId?: number }
  | { action: "note"; text: string; sessionId: number };

export interface OutboxSettings {
  target: string;
  /** Attempts before an item is dead. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** An item being delivered is not due again for this long (a crashed delivery retries after it). */
  claimTtlMs: number;
  deliveryTimeoutMs: number;
  /** Tickets delivered at once. */
  concurrency: number;
  /** `acted-on`: tickets from the target, and others once a session starts on them. `all`: every analyzed ticket. */
  scope: "all" | "acted-on";
}

/** One write a delivery made on the remote side, as the audit log records it. */
export interface DeliveredWrite {
  /** `create`, `update`, `comment`, `acknowledge`, `resolve`. */
  operation: string;
  /** The connector's own line for it (its `describe`), when it has one. */
  description?: string;
  /** The remote ticket written to, when there is one. */
  externalId?: string;
}

/**
 * Delivers one claimed item for its (existing) ticket. Resolves to undefined once the remote side
 * has it, or to a reason the item needs no delivery (stored as its `lastError`); throws to retry.
 * `signal` is the call's one signal (the service's lifetime and the delivery timeout); `wrote`
 * is awaited after each remote write, which it audits.
 */
export type OutboxSend = (
  item: OutboxItem,
  ticket: Ticket,
  signal: AbortSignal,
  wrote: (write: DeliveredWrite) => Promise<void>,
) => Promise<string | undefined>;

export interface OutboxDeps {
  storage: Storage;
  events: EngineEvents;
  logger: Logger;
  clock: SyncClock;
  random: () => number;
  /** Ticket sync's target: work notes and status changes go to it. */
  connector?: TicketingConnector;
  /** Another target's delivery (the monitoring poller's acknowledge and resolve) instead of `connector`'s. */
  send?: OutboxSend;
  /**
   * A delivery that needs no stored ticket (the notification service's rows: `ticketId` only
   * orders them, 0 for events about no ticket). Used instead of `send`; the ticket is not read.
   */
  sendDetached?: (
    item: OutboxItem,
    signal: AbortSignal,
    wrote: (write: DeliveredWrite) => Promise<void>,
  ) => Promise<string | undefined>;
  /** Aborted when the sync service (or the engine) closes: every delivery's signal includes it. */
  signal: AbortSignal;
  /** Where each remote write is recorded (`remote_ticket.commented`, `alert.acknowledged`, …). */
  audit?: AuditLog;
  /** Scrubs the engine's secrets from a connector's description before it is recorded. */
  redact?: (text: string) => string;
}

/** The audit action of each remote write. */
const auditActions: Readonly<Record<string, string>> = {
  create: "remote_ticket.created",
  update: "remote_ticket.updated",
  comment: "remote_ticket.commented",
  acknowledge: "alert.acknowledged",
  resolve: "alert.resolved",
};

/**
 * A connector's `describe` line for a write, flattened to one clipped line, or undefined when it
 * has none (or its describe throws: the write happened, its record must not fail).
 */
export function describeWrite<W>(
  describe: ((write: W) => string) | undefined,
  self: unknown,
  write: W,
  redact: (text: string) => string = (text) => text,
): string | undefined {
  if (typeof describe !== "function") return undefined;
  try {
    const line = describe.call(self, write);
    return typeof line === "string" && line.trim() !== "" ? clip(redact(line), 300) : undefined;
  } catch {
    return undefined;
  }
}

/** The reason inbound sync gives the status changes it applies: those are never sent back. */
export const remoteReasonPrefix = "remote:";

const maxNoteLength = 4_000;
const pageSize = 500;

/**
 * The outbox's idempotency key: deterministic, so a replayed event hits the unique constraint
 * instead of enqueuing twice. `objectId` names the approval, step, session or ticket the event is
 * about; `seq` tells repeats of one object apart (a step's attempt, a ticket's version).
 */
export function outboxKey(
  target: string,
  ticketId: number,
  kind: string,
  objectId: number,
  seq: number,
): string {
  return `${target}:${ticketId}:${kind}:${objectId}:${seq}`;
}

/** Where the remote reference of a ticket is kept (setValue), and the reverse mapping. */
export const refKey = (target: string, ticketId: number) => `sync:${target}:ref:${ticketId}`;
export const reverseRefKey = (target: string, externalId: string) => `sync:${target}:ticket:${externalId}`;
/** Where the link of a remote ticket the sync created is kept (setValue), when the connector gave one. */
export const refUrlKey = (target: string, ticketId: number) => `sync:${target}:url:${ticketId}`;
/** The idempotency key of the remote create for a ticket. */
export const createKey = (target: string, ticketId: number) => `${target}:${ticketId}:create`;

/** Cuts a text to `max` characters (an ellipsis marks the cut). */
export function clip(text: string, max = 500): string {
  const flat = text.replace(/[\r\n]+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Exponential backoff with equal jitter: half the delay fixed, half random; never below `retryAfterMs`. */
export function backoffMs(
  attempts: number,
  settings: Pick<OutboxSettings, "baseDelayMs" | "maxDelayMs">,
  random: () => number,
  retryAfterMs?: number,
): number {
  const exp = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  const jittered = Math.round(exp / 2 + (exp / 2) * random());
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** Whether another attempt can help: connector errors marked retryable, auth (a credential fix), unknown failures. */
function retryable(err: unknown): boolean {
  if (!isRunwardenError(err)) return true;
  return err.retryable || err.code === "RW_ERR_CONNECTOR_AUTH";
}

function errorText(err: unknown): string {
  if (isRunwardenError(err)) return clip(`${err.code}: ${err.message}`);
  return clip(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
}

/** Engine event handlers that enqueue outbox rows. */
export type OutboxHandlers = { [K in keyof EngineEventMap]?: (event: EngineEventMap[K]) => Promise<void> };

export interface Outbox {
  /**
   * Subscribes `handlers` (default: ticket sync's work notes and status changes) to engine events,
   * run one at a time in emission order. Returns the unsubscribe function.
   */
  listen(handlers?: OutboxHandlers): () => void;
  /** Resolves when every event received so far has been turned into rows. */
  settled(): Promise<void>;
  /** Adds one row unless its key exists; returns it, or undefined for a duplicate. */
  enqueue(
    ticketId: number,
    kind: string,
    key: string,
    payload: OutboxPayload | MonitoringActionPayload,
  ): Promise<OutboxItem | undefined>;
  /** Delivers every item that is due, in order per ticket; returns how many were delivered. */
  flush(): Promise<number>;
  /** When the next pending item falls due (ms since the epoch), or undefined when none is pending. */
  nextDue(): Promise<number | undefined>;
  /** Pending items whose claim a crashed process left behind become due now (single-instance stores). */
  releaseClaims(): Promise<number>;
}

export function createOutbox(deps: OutboxDeps, settings: OutboxSettings): Outbox {
  const { storage, events, clock, connector, target } = { ...deps, target: settings.target };
  const log = deps.logger;
  const redact = deps.redact ?? ((text: string) => text);
  let chain: Promise<void> = Promise.resolve();
  const iso = (ms: number) => new Date(ms).toISOString();

  // ── enqueue ──────────────────────────────────────────────────────────────────────────────────

  async function enqueue(
    ticketId: number,
    kind: string,
    key: string,
    payload: OutboxPayload | MonitoringActionPayload,
  ): Promise<OutboxItem | undefined> {
    const now = iso(clock.now());
    try {
      const item = await storage.outbox.insert({
        target,
        ticketId,
        idempotencyKey: key,
        kind,
        payload,
        status: "pending",
        attempts: 0,
        nextAttemptAt: now,
        lastError: null,
        createdAt: now,
      });
      log.debug({ ticketId, kind, itemId: item.id }, "outbox item enqueued");
      return item;
    } catch (err) {
      if (isRunwardenError(err) && err.code === "RW_ERR_STORAGE_CONFLICT") {
        log.debug({ ticketId, kind }, "outbox item already enqueued");
        return undefined;
      }
      throw err;
    }
  }

  /** A ticket is synced when it came from the target, or has rows already (a session started on it). */
  async function synced(ticket: Ticket): Promise<boolean> {
    if (ticket.source === target || settings.scope === "all") return true;
    return (await storage.outbox.count({ ticketId: ticket.id, target })) > 0;
  }

  async function analysisNote(ticket: Ticket): Promise<void> {
    const analysis = ticket.analysis;
    if (!analysis) return;
    const { decision } = analysis;
    const best = analysis.candidates[0];
    const lines = [
      `Runwarden analysis: category ${analysis.category}; decision ${decision.action}: ${clip(decision.reason, 300)}.`,
      best
        ? `Best runbook: "${clip(best.title, 120)}" (score ${best.score.toFixed(2)}, ${best.status}).`
        : "",
    ];
    await enqueue(ticket.id, "comment", outboxKey(target, ticket.id, "analysis", ticket.id, 0), {
      text: lines.filter(Boolean).join("\n"),
    });
  }

  const handlers: OutboxHandlers = {
    async "ticket:analyzed"(event) {
      const ticket = await storage.tickets.get(event.ticketId);
      if (ticket && (ticket.source === target || settings.scope === "all")) await analysisNote(ticket);
    },
    async "session:created"(event) {
      if (event.dryRun) return;
      const [ticket, session] = await Promise.all([
        storage.tickets.get(event.ticketId),
        storage.sessions.get(event.sessionId),
      ]);
      if (!ticket || !session) return;
      await analysisNote(ticket);
      await enqueue(ticket.id, "comment", outboxKey(target, ticket.id, "session-created", session.id, 0), {
        text: `Runwarden started runbook "${clip(session.runbookKey, 120)}" revision ${session.runbookRevision} (session ${session.id}, by ${clip(session.startedBy, 80)}).`,
      });
    },
    async "approval:requested"(event) {
      const approval = await storage.approvals.get(event.approvalId);
      if (!approval) return;
      await enqueue(
        event.ticketId,
        "comment",
        outboxKey(target, event.ticketId, "approval-requested", approval.id, 0),
        {
          text: `Approval needed (approval ${approval.id}, ${approval.risk}) for step "${clip(approval.stepName, 120)}" on ${clip(approval.target, 120)}: ${clip(approval.renderedCommand, 600)}\nExpires ${approval.expiresAt}.`,
        },
      );
    },
    async "step:finished"(event) {
      const [session, step] = await Promise.all([
        storage.sessions.get(event.sessionId),
        storage.steps.get(event.stepId),
      ]);
      if (!session || session.dryRun) return;
      const exit = event.exitCode === null ? "" : ` (exit ${event.exitCode})`;
      const why = step?.error ? `: ${clip(step.error, 400)}` : "";
      await enqueue(
        session.ticketId,
        "comment",
        outboxKey(target, session.ticketId, "step-finished", event.stepId, step?.attempts ?? 0),
        {
          text: `Step "${clip(event.name, 120)}" ${event.status}${exit} in ${Math.round(event.durationMs)} ms${why}.`,
        },
      );
    },
    async "session:finished"(event) {
      const session = await storage.sessions.get(event.sessionId);
      if (!session || session.dryRun) return;
      const why = event.error ? `: ${clip(event.error, 400)}` : "";
      await enqueue(
        event.ticketId,
        "comment",
        outboxKey(target, event.ticketId, "session-finished", event.sessionId, 0),
        {
          text: `Runwarden session ${event.sessionId} (runbook "${clip(session.runbookKey, 120)}") ${event.status}${why}.`,
        },
      );
    },
    async "ticket:updated"(event) {
      if (event.reason?.startsWith(remoteReasonPrefix)) return;
      const ticket = await storage.tickets.get(event.ticketId);
      if (!ticket || !(await synced(ticket))) return;
      // The event carries no version and the ticket may have moved on: the status names the key.
      const key = outboxKey(target, ticket.id, `status-${event.status}`, ticket.id, ticket.version);
      await enqueue(ticket.id, "status", key, { status: event.status });
    },
  };

  function listen(own: OutboxHandlers = handlers): () => void {
    const offs: (() => void)[] = [];
    for (const [name, handler] of Object.entries(own) as [
      keyof EngineEventMap,
      (e: unknown) => Promise<void>,
    ][]) {
      const listener = (event: unknown) => {
        // One queue: rows are inserted in the order the events were emitted, so ids order them.
        chain = chain.then(() =>
          handler(event).catch((err: unknown) => log.error({ err, event: name }, "outbox enqueue failed")),
        );
      };
      events.on(name, listener);
      offs.push(() => events.off(name, listener));
    }
    return () => {
      for (const off of offs) off();
    };
  }

  // ── delivery ─────────────────────────────────────────────────────────────────────────────────

  /** The first pending item of each ticket (ids ascending), read page by page. */
  async function heads(): Promise<OutboxItem[]> {
    const first = new Map<number, OutboxItem>();
    let cursor: number | undefined;
    for (;;) {
      const page = await storage.outbox.find({
        where: { status: "pending", target },
        order: "asc",
        limit: pageSize,
        ...(cursor === undefined ? {} : { cursor }),
      });
      for (const item of page) if (!first.has(item.ticketId)) first.set(item.ticketId, item);
      if (page.length < pageSize) break;
      cursor = page[page.length - 1]!.id;
    }
    return [...first.values()];
  }

  async function remoteRef(
    ticketing: TicketingConnector,
    ticket: Ticket,
    signal: AbortSignal,
    wrote: (write: DeliveredWrite) => Promise<void>,
  ): Promise<RemoteTicketRef> {
    if (ticket.source === target && ticket.externalId) return { externalId: ticket.externalId };
    const stored = await storage.getValue(refKey(target, ticket.id));
    if (stored) return { externalId: stored };
    // A crash after the remote create but before setValue re-runs create with the same key:
    // the connector returns the incident it made the first time.
    const ref = await ticketing.create(ticket, { idempotencyKey: createKey(target, ticket.id), signal });
    await storage.setValue(reverseRefKey(target, ref.externalId), String(ticket.id));
    await storage.setValue(refKey(target, ticket.id), ref.externalId);
    if (ref.url) await storage.setValue(refUrlKey(target, ticket.id), ref.url);
    log.info({ ticketId: ticket.id, externalId: ref.externalId }, "remote ticket created");
    await wrote({
      operation: "create",
      externalId: ref.externalId,
      description: describeWrite(ticketing.describe, ticketing, { operation: "create", ticket }, redact),
    });
    return ref;
  }

  /** Ticket sync's delivery: a work note, or the ticket's current status, on its remote ticket. */
  const sendToTicketing: OutboxSend = async (item, ticket, signal, wrote) => {
    if (!connector) throw new TypeError("the outbox needs a ticketing connector or a `send` function");
    const payload = item.payload as OutboxPayload;
    // State is last-writer-wins: only the ticket's current status is worth sending.
    if ("status" in payload && ticket.status !== payload.status)
      return `superseded: the ticket is now ${ticket.status}`;
    const ref = await remoteRef(connector, ticket, signal, wrote);
    const options = { idempotencyKey: item.idempotencyKey, signal };
    const write: TicketingWrite =
      "status" in payload
        ? { operation: "update", ref, change: { status: payload.status } }
        : { operation: "comment", ref, text: payload.text.slice(0, maxNoteLength) };
    if (write.operation === "update") await connector.update(ref, write.change, options);
    else if (write.operation === "comment") await connector.comment(ref, write.text, options);
    await wrote({
      operation: write.operation,
      externalId: ref.externalId,
      description: describeWrite(connector.describe, connector, write, redact),
    });
    return undefined;
  };
  const send: OutboxSend = deps.send ?? sendToTicketing;

  async function finish(item: OutboxItem, changes: Partial<OutboxItem>): Promise<void> {
    try {
      await storage.outbox.update(item.id, item.version, changes);
    } catch (err) {
      // Another instance took the item over after our claim ran out: its outcome stands.
      if (!isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT") throw err;
      log.warn({ itemId: item.id, ticketId: item.ticketId }, "outbox item changed during delivery");
    }
  }

  /** Claims and delivers one item: `delivered` and `dead` move on to the ticket's next item, `stopped` does not. */
  async function deliver(head: OutboxItem): Promise<"delivered" | "dead" | "stopped"> {
    let item: OutboxItem;
    try {
      item = await storage.outbox.update(head.id, head.version, {
        attempts: head.attempts + 1,
        nextAttemptAt: iso(clock.now() + settings.claimTtlMs),
      });
    } catch (err) {
      if (isRunwardenError(err) && err.code === "RW_ERR_STORAGE_CONFLICT") return "stopped";
      throw err;
    }
    const signal = callSignal(deps.signal, settings.deliveryTimeoutMs);
    /** Records one remote write of this delivery in the audit log. */
    const wrote = async (write: DeliveredWrite): Promise<void> => {
      if (!deps.audit) return;
      try {
        await deps.audit.record({
          actor: "engine",
          action: auditActions[write.operation] ?? `remote.${write.operation}`,
          objectType: "ticket",
          objectId: item.ticketId,
          origin: "engine",
          details: {
            target,
            operation: write.operation,
            outboxItemId: item.id,
            attempt: item.attempts,
            ...(write.externalId === undefined ? {} : { externalId: write.externalId }),
            description: write.description ?? null,
          },
        });
      } catch (err) {
        // The write happened: a failed record must not make the outbox repeat it.
        log.error({ err, itemId: item.id, ticketId: item.ticketId }, "outbox write not audited");
      }
    };
    try {
      const sendTicketed = async () => {
        const ticket = await storage.tickets.get(item.ticketId);
        if (!ticket) {
          throw rwError("RW_ERR_STORAGE_NOT_FOUND", `ticket ${item.ticketId} no longer exists`, {
            details: { entity: "ticket", id: item.ticketId },
          });
        }
        return send(item, ticket, signal, wrote);
      };
      const skipped = deps.sendDetached ? await deps.sendDetached(item, signal, wrote) : await sendTicketed();
      if (skipped !== undefined) {
        await finish(item, { status: "delivered", lastError: skipped });
        log.debug({ itemId: item.id, ticketId: item.ticketId, why: skipped }, "outbox item skipped");
        return "delivered";
      }
      await finish(item, { status: "delivered", lastError: null });
      events.emit("outbox:delivered", { itemId: item.id, ticketId: item.ticketId, target, kind: item.kind });
      log.debug({ itemId: item.id, ticketId: item.ticketId, kind: item.kind }, "outbox item delivered");
      return "delivered";
    } catch (err) {
      if (deps.signal.aborted) {
        // Closing: the claim runs out and the item is retried by the next process.
        return "stopped";
      }
      const error = errorText(err);
      if (!retryable(err) || item.attempts >= settings.maxAttempts) {
        await finish(item, { status: "dead", lastError: error });
        events.emit("outbox:dead-lettered", {
          itemId: item.id,
          ticketId: item.ticketId,
          target,
          kind: item.kind,
          attempts: item.attempts,
          error,
        });
        log.error(
          { itemId: item.id, ticketId: item.ticketId, attempts: item.attempts, err },
          "outbox item dead",
        );
        return "dead";
      }
      const retryAfterMs = isRunwardenError(err) ? Number(err.details?.retryAfterMs) || undefined : undefined;
      const delay = backoffMs(item.attempts, settings, deps.random, retryAfterMs);
      await finish(item, { nextAttemptAt: iso(clock.now() + delay), lastError: error });
      log.warn(
        { itemId: item.id, ticketId: item.ticketId, attempts: item.attempts, delayMs: delay, err },
        "outbox delivery failed, will retry",
      );
      return "stopped";
    } finally {
      endCallSignal(signal);
    }
  }

  /** Delivers one ticket's due items in order until one is not due or fails. */
  async function drainTicket(head: OutboxItem): Promise<number> {
    let delivered = 0;
    let current: OutboxItem | undefined = head;
    while (current && !deps.signal.aborted && Date.parse(current.nextAttemptAt) <= clock.now()) {
      const outcome = await deliver(current);
      if (outcome === "stopped") break;
      if (outcome === "delivered") delivered++;
      [current] = await storage.outbox.find({
        where: { status: "pending", target, ticketId: head.ticketId },
        order: "asc",
        limit: 1,
      });
    }
    return delivered;
  }

  async function flush(): Promise<number> {
    await chain;
    const due = (await heads()).filter((item) => Date.parse(item.nextAttemptAt) <= clock.now());
    let delivered = 0;
    let next = 0;
    const lane = async () => {
      while (next < due.length && !deps.signal.aborted) {
        const head = due[next++]!;
        try {
          const count = await drainTicket(head);
          delivered += count;
        } catch (err) {
          log.error({ err, ticketId: head.ticketId }, "outbox delivery crashed");
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, settings.concurrency) }, lane));
    return delivered;
  }

  return {
    listen,
    settled: () => chain,
    enqueue,
    flush,
    async nextDue() {
      let min: number | undefined;
      for (const item of await heads()) {
        const at = Date.parse(item.nextAttemptAt);
        if (min === undefined || at < min) min = at;
      }
      return min;
    },
    async releaseClaims() {
      let released = 0;
      const now = clock.now();
      for (const item of await heads()) {
        if (Date.parse(item.nextAttemptAt) <= now) continue;
        try {
          await storage.outbox.update(item.id, item.version, { nextAttemptAt: iso(now) });
          released++;
        } catch (err) {
          if (!isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT") throw err;
        }
      }
      return released;
    },
  };
}
