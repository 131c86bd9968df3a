/**
 * Two-way ticket sync, one service every ticketing connector reuses. Outbound, engine events
 * (analysis, session started, approval requested, step finished, session finished, status
 * changes) become rows of the persisted outbox, delivered once each, in order per ticket, with
 * backoff. Inbound, the connector's `pullChanges` is polled with a persisted cursor: new remote
 * tickets come in, and a remote close cancels what waits on the local ticket.
 */
import type { Logger } from "pino";
import type { AuditLog } from "../audit.js";
import type { Ticket, TicketInput, TicketStatus } from "../domain.js";
import { rwError } from "../errors.js";
import type { EngineEvents } from "../events.js";
import { callSignal } from "../internal/call-signal.js";
import type { TicketingConnector } from "../plugin.js";
import type { OutboxItem, Storage } from "../storage.js";
import { createInbound, type PollResult } from "./inbound.js";
import { createOutbox, type OutboxSettings, type SyncClock } from "./outbox.js";
import { createDeliveryWorker, realTimers } from "./worker.js";

export type { PollResult } from "./inbound.js";
export { cursorKey } from "./inbound.js";
export {
  backoffMs,
  createKey,
  type OutboxPayload,
  outboxKey,
  refKey,
  refUrlKey,
  reverseRefKey,
  type SyncClock,
} from "./outbox.js";

/** Tunables of the sync service; every field has a default. */
export interface TicketSyncOptions {
  /** Time between inbound polls. Default 60 s; 0 turns inbound off. */
  pollIntervalMs?: number;
  /** Attempts before an outbox item is dead. Default 8. */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt, with jitter. Default 1 s. */
  baseDelayMs?: number;
  /** Longest retry delay. Default 5 minutes. */
  maxDelayMs?: number;
  /** How long one delivery may take. Default 30 s. */
  deliveryTimeoutMs?: number;
  /** How long one inbound `pullChanges` may take. Default 60 s. */
  pullTimeoutMs?: number;
  /** An item being delivered is not picked again for this long (another instance, a crash). Default 60 s. */
  claimTtlMs?: number;
  /** Tickets delivered at once. Default 4. */
  concurrency?: number;
  /** Longest sleep of the delivery worker between store checks. Default 5 s. */
  idleMs?: number;
  /**
   * Which tickets are written to the target: `acted-on` (default) — tickets that came from it,
   * and any other ticket once a session starts on it; `all` — every analyzed ticket.
   */
  scope?: "all" | "acted-on";
  /** True: `start()` only subscribes to events; the host (or a test) calls `flush()` and `poll()`. */
  manual?: boolean;
}

/** What the service works with: passed explicitly, so it runs (and is tested) without an engine. */
export interface TicketSyncDeps {
  /** The store the outbox is kept in. */
  storage: Storage;
  /** The engine's event bus, subscribed to for what to sync. */
  events: EngineEvents;
  /** A pino logger. */
  logger: Logger;
  /** The ticketing connector's instance. */
  connector: TicketingConnector;
  /** The connector's name: the outbox target and the source of tickets brought in. */
  target: string;
  /** Brings a new remote ticket in (engine: `tickets.ingest`). */
  ingest(input: TicketInput): Promise<{ ticket: Ticket }>;
  /** Cancels the sessions waiting on a ticket (engine: the executor's ticket-resolved hook). */
  cancelSessions(ticket: Ticket, reason: string): Promise<void>;
  /** Sets a ticket's status (engine: `tickets.setStatus`). */
  setStatus(ticketId: number, status: TicketStatus, reason: string): Promise<Ticket>;
  /** The engine's lifetime: every connector call's signal includes it (and `close()`'s). */
  signal?: AbortSignal;
  /** Records each remote write with the connector's `describe` line. */
  audit?: AuditLog;
  /** Scrubs the engine's secrets from a connector's description before it is recorded. */
  redact?: (text: string) => string;
  /** Default: the system clock and Node's timers. */
  clock?: SyncClock;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
}

/** A running sync service. */
export interface TicketSync {
  /** The ticketing connector's name it syncs with. */
  readonly target: string;
  /** Subscribes to events, and starts the delivery worker and the inbound poll. Idempotent. */
  start(): Promise<void>;
  /** Stops both loops and aborts calls in flight (their items are retried by the next process). */
  close(): Promise<void>;
  /** Delivers every outbox item that is due now; returns how many were delivered. */
  flush(): Promise<number>;
  /** Polls the connector once and applies what changed. */
  poll(): Promise<PollResult>;
  /** Resolves once every event received so far is in the outbox. */
  settled(): Promise<void>;
  /** Dead items of this target, newest first. */
  deadLetters(limit?: number): Promise<OutboxItem[]>;
  /** Puts a dead item back in the queue, due now, with its attempts reset. */
  requeue(itemId: number): Promise<OutboxItem>;
}

/**
 * Creates the two-way sync service for one ticketing connector.
 *
 * @example
 * ```ts
 * const sync = createTicketSync({ storage, events, logger, connector, target: "servicenow",
 *   ingest: (input) => engine.tickets.ingest(input), cancelSessions, setStatus: engine.tickets.setStatus });
 * await sync.start();
 * ```
 */
export function createTicketSync(deps: TicketSyncDeps, options: TicketSyncOptions = {}): TicketSync {
  const clock = deps.clock ?? realTimers;
  const logger = deps.logger.child({ component: "sync", target: deps.target });
  const abort = new AbortController();
  const settings: OutboxSettings = {
    target: deps.target,
    maxAttempts: options.maxAttempts ?? 8,
    baseDelayMs: options.baseDelayMs ?? 1_000,
    maxDelayMs: options.maxDelayMs ?? 5 * 60_000,
    claimTtlMs: options.claimTtlMs ?? 60_000,
    deliveryTimeoutMs: options.deliveryTimeoutMs ?? 30_000,
    concurrency: options.concurrency ?? 4,
    scope: options.scope ?? "acted-on",
  };
  const pollIntervalMs = options.pollIntervalMs ?? 60_000;
  const idleMs = options.idleMs ?? 5_000;
  const manual = options.manual === true;
  // Aborted by close() and by the engine's shutdown: the lifetime of every connector call.
  const lifetime = callSignal(abort.signal, undefined, deps.signal);
  const outbox = createOutbox(
    {
      storage: deps.storage,
      events: deps.events,
      logger,
      clock,
      random: deps.random ?? Math.random,
      connector: deps.connector,
      signal: lifetime,
      ...(deps.audit ? { audit: deps.audit } : {}),
      ...(deps.redact ? { redact: deps.redact } : {}),
    },
    settings,
  );
  const inbound = createInbound({
    ...deps,
    logger,
    signal: lifetime,
    pullTimeoutMs: options.pullTimeoutMs ?? 60_000,
  });

  let started = false;
  let unlisten: (() => void) | undefined;
  let pollTimer: unknown;
  let polling: Promise<void> | undefined;
  const worker = createDeliveryWorker(outbox, { clock, logger, signal: abort.signal, idleMs });

  /** Runs the delivery worker now (or right after the current run); the host drives it when manual. */
  function kick(): void {
    if (started && !manual) worker.kick();
  }

  function schedulePoll(ms: number): void {
    if (!started || manual || abort.signal.aborted || pollIntervalMs <= 0) return;
    pollTimer = clock.setTimeout(() => {
      polling = (async () => {
        try {
          await inbound.poll();
        } catch (err) {
          logger.warn({ err }, "inbound poll failed");
        }
        polling = undefined;
        schedulePoll(pollIntervalMs);
      })();
    }, ms);
  }

  const onEnqueued = () => {
    // Rows are written after the event handlers' awaits: wake the worker once they are in.
    void outbox.settled().then(kick);
  };
  const kickOn = [
    "session:created",
    "approval:requested",
    "step:finished",
    "session:finished",
    "ticket:updated",
    "ticket:analyzed",
  ] as const;

  return {
    target: deps.target,

    async start() {
      if (started) return;
      started = true;
      unlisten = outbox.listen();
      for (const name of kickOn) deps.events.on(name, onEnqueued);
      if (!deps.storage.shared) {
        const released = await outbox.releaseClaims();
        if (released > 0) logger.info({ released }, "outbox items of a previous process released");
      }
      kick();
      schedulePoll(0);
      logger.info({ pollIntervalMs }, "ticket sync started");
    },

    async close() {
      if (!started || abort.signal.aborted) return;
      abort.abort();
      unlisten?.();
      for (const name of kickOn) deps.events.off(name, onEnqueued);
      clock.clearTimeout(pollTimer);
      await Promise.allSettled([worker.stop(), polling, outbox.settled()]);
      logger.info({}, "ticket sync closed");
    },

    flush: () => outbox.flush(),
    poll: () => inbound.poll(),
    settled: () => outbox.settled(),

    deadLetters: (limit = 50) =>
      deps.storage.outbox.find({ where: { status: "dead", target: deps.target }, order: "desc", limit }),

    async requeue(itemId) {
      const item = await deps.storage.outbox.get(itemId);
      if (!item || item.target !== deps.target) {
        throw rwError("RW_ERR_STORAGE_NOT_FOUND", `no outbox item ${itemId} for ${deps.target}`, {
          details: { entity: "outbox", id: itemId },
        });
      }
      const requeued = await deps.storage.outbox.update(item.id, item.version, {
        status: "pending",
        attempts: 0,
        nextAttemptAt: new Date(clock.now()).toISOString(),
        lastError: null,
      });
      kick();
      return requeued;
    },
  };
}
