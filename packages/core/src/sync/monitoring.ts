/**
 * The monitoring poller, the twin of inbound ticket sync: per monitoring source it calls the
 * connector's `pull({ since })` on a schedule, with a persisted cursor, under a named lease (one
 * poller per source across instances sharing a store), backing off on errors and honouring
 * Retry-After. Pulled alerts go through the webhook's intake, so both fold into one ticket per
 * fingerprint. Outbound, `acknowledge` (a session started for the alert's ticket) and `resolve`
 * (that ticket resolved) are outbox rows, delivered once each with the outbox's retries.
 *
 * Over 500 lines: the poll loop, its lease and cursor, and the outbound writes (acknowledge, note,
 * resolve) share one per-source state and one ordering rule; a split along them is the next
 * clean-up (named in the stop note), not done in the same change as the `note` capability.
 */
import type { Logger } from "pino";
import { z } from "zod";
import type { AuditLog } from "../audit.js";
import { finalSessionStatuses, sessionStatuses, type Ticket, type TicketInput } from "../domain.js";
import { isRunwardenError } from "../errors.js";
import type { EngineEvents } from "../events.js";
import { callSignal, endCallSignal } from "../internal/call-signal.js";
import type { MonitoringConnector } from "../plugin.js";
import type { Storage } from "../storage.js";
import type { WebhookResult } from "../tickets.js";
import {
  backoffMs,
  clip,
  createOutbox,
  describeWrite,
  type MonitoringActionPayload,
  type OutboxHandlers,
  type OutboxSend,
  outboxKey,
  type SyncClock,
} from "./outbox.js";
import { createDeliveryWorker, realTimers } from "./worker.js";

/** Per-source settings of the monitoring poller; every field has a default. */
export interface MonitoringPollOptions {
  /** False stops pulling (acknowledge and resolve still run). Default true. */
  enabled?: boolean;
  /** Time between pulls. Default 60 s. */
  intervalMs?: number;
  /** Acknowledge when a session starts for an alert's ticket, resolve when it resolves. Default true. */
  acknowledge?: boolean;
  /** Longest wait after failed pulls (the first retry waits about one interval, then doubles). Default 15 minutes. */
  maxBackoffMs?: number;
  /** How long one pull may take. Default 60 s. */
  pullTimeoutMs?: number;
  /** Alerts handed to intake at once. Default 100. */
  batchSize?: number;
  /** Attempts before an acknowledge or resolve is dead. Default 8. */
  maxAttempts?: number;
  /** First retry delay of an acknowledge or resolve; doubles per attempt. Default 1 s. */
  baseDelayMs?: number;
  /** Longest retry delay of an acknowledge or resolve. Default 5 minutes. */
  maxDelayMs?: number;
  /** How long one acknowledge or resolve may take. Default 30 s. */
  deliveryTimeoutMs?: number;
  /** An acknowledge or resolve being delivered is not picked again for this long. Default 60 s. */
  claimTtlMs?: number;
  /** Longest sleep of the delivery worker between store checks. Default 5 s. */
  idleMs?: number;
  /** True: `start()` only subscribes to events; the host (or a test) calls `poll()` and `flush()`. */
  manual?: boolean;
}

/** What the poller works with: passed explicitly, so it runs (and is tested) without an engine. */
export interface MonitoringPollerDeps {
  /** The store the outbox and the poll lease are kept in. */
  storage: Storage;
  /** The engine's event bus, subscribed to for acknowledge and resolve. */
  events: EngineEvents;
  /** A pino logger. */
  logger: Logger;
  /** The monitoring connector's instance. */
  connector: MonitoringConnector;
  /** The connector's name: the source of its tickets. */
  source: string;
  /** This engine instance (the lease owner). */
  owner: string;
  /** The webhook's intake for pulled alerts (engine: `tickets.ingestAlerts`). */
  ingest(source: string, alerts: readonly TicketInput[]): Promise<WebhookResult>;
  /** The engine's lifetime: every connector call's signal includes it (and `close()`'s). */
  signal?: AbortSignal;
  /** Records each acknowledge and resolve with the connector's `describe` line. */
  audit?: AuditLog;
  /** Scrubs the engine's secrets from a connector's description before it is recorded. */
  redact?: (text: string) => string;
  /** Default: the system clock and Node's timers. */
  clock?: SyncClock;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
}

/** One source's poller as `GET /connectors/monitoring` shows it. */
export const MonitoringSourceStatus = z.object({
  source: z.string(),
  /** Pulling is on (the connector can pull and the source is enabled). */
  enabled: z.boolean(),
  intervalMs: z.number().int(),
  /** Acknowledge and resolve are on (the connector implements them and the source allows it). */
  acknowledge: z.boolean(),
  /** The `since` of the next pull: when the last successful pull started. */
  cursor: z.string().nullable(),
  /** When the last pull started. */
  lastRunAt: z.string().nullable(),
  /** When the last successful pull started. */
  lastSuccessAt: z.string().nullable(),
  /** When the next pull is due (after a failure, the backoff's end). */
  nextRunAt: z.string().nullable(),
  /** The last pull's error (`RW_ERR_…: message`), null once a pull succeeds. */
  lastError: z.string().nullable(),
  /** Failed pulls in a row. */
  failures: z.number().int(),
  /** Alerts the last successful pull brought. */
  lastAlerts: z.number().int(),
  /** The engine instance holding the source's poll lease, when one does. */
  leaseOwner: z.string().nullable(),
  /** Acknowledge and resolve calls waiting to be delivered. */
  pendingActions: z.number().int(),
  /** Acknowledge and resolve calls that gave up (dead outbox rows). */
  deadActions: z.number().int(),
});
/** One monitoring source's poller state, as `GET /connectors/monitoring` shows it. */
export type MonitoringSourceStatus = z.infer<typeof MonitoringSourceStatus>;

/** What one `poll()` did. */
export interface MonitoringPollResult {
  /** `pulled`; or why nothing was pulled: another instance holds the lease, or it is not due. */
  outcome: "pulled" | "failed" | "leased-elsewhere" | "not-due" | "disabled";
  /** Alerts the pull returned. */
  alerts: number;
  /** Tickets the pull created. */
  created: number;
  /** Alerts folded into open tickets. */
  deduplicated: number;
  /** Tickets the pull resolved. */
  resolved: number;
  /** The error of a failed pull (`RW_ERR_…: message`). */
  error?: string;
}

/** A running monitoring poller for one source. */
export interface MonitoringPoller {
  /** The monitoring connector's name. */
  readonly source: string;
  /** Subscribes to events and, unless manual or disabled, starts the poll and delivery loops. Idempotent. */
  start(): Promise<void>;
  /** Stops both loops, aborts calls in flight and gives the lease up. */
  close(): Promise<void>;
  /** Pulls now if this instance gets the lease (`force` ignores when the next pull is due). */
  poll(options?: { force?: boolean }): Promise<MonitoringPollResult>;
  /** Delivers every acknowledge and resolve that is due; returns how many were delivered. */
  flush(): Promise<number>;
  /** Resolves once every event received so far is in the outbox. */
  settled(): Promise<void>;
  /** The poller's state now. */
  status(): Promise<MonitoringSourceStatus>;
}

/** The outbox target of a source's acknowledge and resolve calls. */
export const monitoringTarget = (source: string) => `monitoring:${source}`;
/** Where a source's pull cursor and schedule are kept (setValue, one JSON value), and its lease's name. */
export const monitoringStateKey = (source: string) => `monitoring:${source}:state`;
export const monitoringLeaseName = (source: string) => `monitoring-poll:${source}`;

type Action = MonitoringActionPayload["action"];

/** Live sessions and resolved tickets looked at when a poller starts (newest first). */
const catchUpLimit = 200;

interface PollState {
  cursor: string | null;
  lastRunAt: string | null;
  lastSuccessAt: string | null;
  nextRunAt: string | null;
  lastError: string | null;
  failures: number;
  lastAlerts: number;
}

const emptyState: PollState = {
  cursor: null,
  lastRunAt: null,
  lastSuccessAt: null,
  nextRunAt: null,
  lastError: null,
  failures: 0,
  lastAlerts: 0,
};

function errorText(err: unknown): string {
  const text = isRunwardenError(err)
    ? `${err.code}: ${err.message}`
    : err instanceof Error
      ? `${err.name}: ${err.message}`
      : String(err);
  const flat = text.replace(/[\r\n]+/g, " ").trim();
  return flat.length > 500 ? `${flat.slice(0, 499)}…` : flat;
}

/**
 * Creates the poller of one monitoring source.
 *
 * @example
 * ```ts
 * const poller = createMonitoringPoller({ storage, events, logger, connector, source: "prometheus",
 *   owner: engine.instanceId, ingest: (source, alerts) => engine.tickets.ingestAlerts(source, alerts) },
 *   { intervalMs: 30_000 });
 * await poller.start();
 * ```
 */
export function createMonitoringPoller(
  deps: MonitoringPollerDeps,
  options: MonitoringPollOptions = {},
): MonitoringPoller {
  const { storage, connector, source } = deps;
  const clock = deps.clock ?? realTimers;
  const random = deps.random ?? Math.random;
  const logger = deps.logger.child({ component: "monitoring-poller", source });
  const abort = new AbortController();
  // Aborted by close() and by the engine's shutdown: the lifetime of every connector call.
  const lifetime = callSignal(abort.signal, undefined, deps.signal);
  const target = monitoringTarget(source);
  const intervalMs = Math.max(1, options.intervalMs ?? 60_000);
  const pullTimeoutMs = options.pullTimeoutMs ?? 60_000;
  const maxBackoffMs = Math.max(intervalMs, options.maxBackoffMs ?? 15 * 60_000);
  const batchSize = Math.max(1, options.batchSize ?? 100);
  const pulling = options.enabled !== false && typeof connector.pull === "function";
  const acknowledging = options.acknowledge !== false && typeof connector.acknowledge === "function";
  // Work notes ride on acknowledging: a source told not to be written to gets no notes either.
  const noting = options.acknowledge !== false && typeof connector.note === "function";
  // Held across a pull and renewed by each; a holder that dies is replaced after it runs out.
  const leaseTtlMs = Math.max(3 * intervalMs, intervalMs + pullTimeoutMs);
  const manual = options.manual === true;
  const iso = (ms: number) => new Date(ms).toISOString();

  const send: OutboxSend = async (item, ticket, signal, wrote) => {
    const payload = item.payload as MonitoringActionPayload;
    const { action } = payload;
    const options = {
      signal,
      idempotencyKey: item.idempotencyKey,
      ...(payload.sessionId === undefined ? {} : { sessionId: payload.sessionId }),
    };
    if (payload.action === "note") {
      if (typeof connector.note !== "function") return `${source} has no note`;
      await connector.note(ticket, payload.text, options);
    } else {
      const call = action === "acknowledge" ? connector.acknowledge : connector.resolve;
      if (typeof call !== "function") return `${source} has no ${action}`;
      await call.call(connector, ticket, options);
    }
    logger.info({ ticketId: ticket.id, action }, "monitoring action delivered");
    const write =
      payload.action === "note"
        ? { operation: action, ticket, text: payload.text }
        : { operation: action, ticket };
    await wrote({
      operation: action,
      ...(ticket.externalId ? { externalId: ticket.externalId } : {}),
      description: describeWrite(connector.describe, connector, write, deps.redact),
    });
    return undefined;
  };
  const outbox = createOutbox(
    {
      storage,
      events: deps.events,
      logger,
      clock,
      random,
      send,
      signal: lifetime,
      ...(deps.audit ? { audit: deps.audit } : {}),
    },
    {
      target,
      maxAttempts: options.maxAttempts ?? 8,
      baseDelayMs: options.baseDelayMs ?? 1_000,
      maxDelayMs: options.maxDelayMs ?? 5 * 60_000,
      claimTtlMs: options.claimTtlMs ?? 60_000,
      deliveryTimeoutMs: options.deliveryTimeoutMs ?? 30_000,
      concurrency: 4,
      scope: "acted-on",
    },
  );
  const worker = createDeliveryWorker(outbox, {
    clock,
    logger,
    signal: abort.signal,
    idleMs: options.idleMs ?? 5_000,
  });

  // ── acknowledge and resolve ──────────────────────────────────────────────────────────────────

  /** The alert's ticket, when it came from this source (by webhook or pull). */
  async function ownTicket(ticketId: number): Promise<Ticket | undefined> {
    const ticket = await storage.tickets.get(ticketId);
    return ticket?.source === source ? ticket : undefined;
  }

  async function enqueue(
    ticket: Ticket,
    payload: MonitoringActionPayload,
    keyKind: string,
    objectId: number,
  ): Promise<void> {
    // The key names the session (acknowledge), the acknowledgement (resolve) or the approval or
    // session a note is about: a replayed event hits the unique key instead of calling twice.
    const action: Action = payload.action;
    const key = outboxKey(target, ticket.id, keyKind, objectId, 0);
    const item = await outbox.enqueue(ticket.id, action, key, payload);
    if (item) logger.debug({ ticketId: ticket.id, action, itemId: item.id }, "monitoring action queued");
  }

  const handlers: OutboxHandlers = {
    "session:created": (event) => acknowledgeSession({ id: event.sessionId, ...event }),
    async "ticket:updated"(event) {
      if (event.status === "resolved") await resolveTicket(event.ticketId);
    },
    async "approval:requested"(event) {
      const approval = await storage.approvals.get(event.approvalId);
      if (!approval) return;
      await noteSession(
        event.sessionId,
        "note-approval-requested",
        approval.id,
        `Runwarden session ${event.sessionId}: approval ${approval.id} requested (${approval.risk}) for step "${clip(approval.stepName, 120)}" on ${clip(approval.target, 120)}.`,
      );
    },
    async "approval:decided"(event) {
      await noteSession(
        event.sessionId,
        "note-approval-decided",
        event.approvalId,
        `Runwarden session ${event.sessionId}: approval ${event.approvalId} ${clip(event.status, 40)} by ${clip(event.actor, 80)}.`,
      );
    },
    async "session:finished"(event) {
      const why = event.error ? `: ${clip(event.error, 400)}` : "";
      await noteSession(
        event.sessionId,
        "note-session-finished",
        event.sessionId,
        `Runwarden session ${event.sessionId} ${event.status}${why}.`,
      );
    },
  };

  /** A work note about a (non dry-run) session of one of the source's tickets, when the connector takes notes. */
  async function noteSession(sessionId: number, keyKind: string, objectId: number, text: string) {
    if (!noting) return;
    const session = await storage.sessions.get(sessionId);
    if (!session || session.dryRun) return;
    const ticket = await ownTicket(session.ticketId);
    if (ticket)
      await enqueue(
        ticket,
        { action: "note", text: deps.redact ? deps.redact(text) : text, sessionId },
        keyKind,
        objectId,
      );
  }

  /** Acknowledges a session of one of the source's tickets (once: the key names the session). */
  async function acknowledgeSession(session: { id: number; ticketId: number; dryRun: boolean }) {
    if (session.dryRun) return;
    const ticket = await ownTicket(session.ticketId);
    if (ticket)
      await enqueue(ticket, { action: "acknowledge", sessionId: session.id }, "acknowledge", session.id);
  }

  /** Resolves a resolved ticket of the source that was acknowledged (once: the key names the acknowledgement). */
  async function resolveTicket(ticketId: number) {
    if (typeof connector.resolve !== "function") return;
    const ticket = await ownTicket(ticketId);
    if (!ticket) return;
    // Resolve undoes the latest acknowledgement; a ticket nobody acted on was never acknowledged.
    const rows = await storage.outbox.find({
      where: { target, ticketId: ticket.id },
      order: "desc",
      limit: 100,
    });
    const acknowledged = rows.find((row) => row.kind === "acknowledge");
    if (!acknowledged) return;
    const { sessionId } = acknowledged.payload as { sessionId?: number };
    await enqueue(
      ticket,
      { action: "resolve", ...(sessionId === undefined ? {} : { sessionId }) },
      "resolve",
      acknowledged.id,
    );
  }

  /**
   * What happened while no poller listened (a crash between a session's write and its event's
   * enqueue, or sessions that started before this poller did): live sessions of the source's
   * tickets are acknowledged and its recently resolved tickets resolved. The keys make this a
   * no-op for what is queued already.
   */
  async function catchUp(): Promise<void> {
    const live = sessionStatuses.filter((status) => !finalSessionStatuses.includes(status));
    for (const session of await storage.sessions.find({
      where: { status: { in: live } },
      order: "desc",
      limit: catchUpLimit,
    })) {
      await acknowledgeSession(session);
    }
    for (const ticket of await storage.tickets.find({
      where: { source, status: "resolved" },
      order: "desc",
      limit: catchUpLimit,
    })) {
      await resolveTicket(ticket.id);
    }
  }

  /** Wakes the delivery worker once what the event enqueued is in. */
  const onEnqueued = () => {
    void outbox.settled().then(() => {
      if (started && !manual) worker.kick();
    });
  };
  const kickOn = [
    "session:created",
    "ticket:updated",
    "approval:requested",
    "approval:decided",
    "session:finished",
  ] as const;

  // ── pull ─────────────────────────────────────────────────────────────────────────────────────

  async function readState(): Promise<PollState> {
    const raw = await storage.getValue(monitoringStateKey(source));
    if (raw === undefined) return { ...emptyState };
    try {
      return { ...emptyState, ...(JSON.parse(raw) as Partial<PollState>) };
    } catch {
      return { ...emptyState };
    }
  }

  async function pullOnce(state: PollState): Promise<MonitoringPollResult> {
    const startedAt = clock.now();
    const result: MonitoringPollResult = {
      outcome: "pulled",
      alerts: 0,
      created: 0,
      deduplicated: 0,
      resolved: 0,
    };
    const { cursor } = state;
    const signal = callSignal(lifetime, pullTimeoutMs);
    const ingest = async (batch: TicketInput[]) => {
      if (batch.length === 0) return;
      const done = await deps.ingest(source, batch);
      result.created += done.tickets.filter((t) => !t.deduplicated).length;
      result.deduplicated += done.tickets.filter((t) => t.deduplicated).length;
      result.resolved += done.resolved.length;
    };
    let next: PollState;
    try {
      let batch: TicketInput[] = [];
      for await (const alert of connector.pull!({
        ...(cursor === null ? {} : { since: cursor }),
        signal,
      })) {
        result.alerts++;
        batch.push(alert);
        if (batch.length >= batchSize) {
          await ingest(batch);
          batch = [];
        }
      }
      await ingest(batch);
      next = {
        // The next pull asks for what changed since this one started: nothing in between is
        // missed, and what is seen twice folds into its ticket.
        cursor: iso(startedAt),
        lastRunAt: iso(startedAt),
        lastSuccessAt: iso(startedAt),
        nextRunAt: iso(startedAt + intervalMs),
        lastError: null,
        failures: 0,
        lastAlerts: result.alerts,
      };
      logger.debug({ ...result }, "alerts pulled");
    } catch (err) {
      const failures = state.failures + 1;
      const retryAfterMs = isRunwardenError(err) ? Number(err.details?.retryAfterMs) || undefined : undefined;
      // The first retry waits half to one interval, each further one twice as long, never less
      // than the source's Retry-After; alerts ingested before the failure stay, the cursor does not move.
      const delay = backoffMs(
        failures,
        { baseDelayMs: intervalMs, maxDelayMs: maxBackoffMs },
        random,
        retryAfterMs,
      );
      result.outcome = "failed";
      result.error = errorText(err);
      next = {
        ...state,
        lastRunAt: iso(startedAt),
        nextRunAt: iso(clock.now() + delay),
        lastError: result.error,
        failures,
      };
      if (!lifetime.aborted) logger.warn({ err, failures, delayMs: delay }, "monitoring pull failed");
    } finally {
      endCallSignal(signal);
    }
    await storage.setValue(monitoringStateKey(source), JSON.stringify(next));
    return result;
  }

  async function poll(force: boolean): Promise<MonitoringPollResult> {
    const idle = { alerts: 0, created: 0, deduplicated: 0, resolved: 0 };
    if (!pulling) return { outcome: "disabled", ...idle };
    const now = clock.now();
    if (!(await storage.leases.acquire(monitoringLeaseName(source), deps.owner, leaseTtlMs, iso(now)))) {
      return { outcome: "leased-elsewhere", ...idle };
    }
    // The schedule is in the store, so a new lease holder keeps the previous one's pace and backoff.
    const state = await readState();
    if (!force && state.nextRunAt !== null && Date.parse(state.nextRunAt) > now) {
      return { outcome: "not-due", ...idle };
    }
    return pullOnce(state);
  }

  let started = false;
  let unlisten: (() => void) | undefined;
  let pollTimer: unknown;
  let polling: Promise<unknown> | undefined;

  function schedulePoll(ms: number): void {
    if (!started || manual || !pulling || abort.signal.aborted) return;
    pollTimer = clock.setTimeout(() => {
      const run = (async () => {
        let wait = intervalMs;
        try {
          const result = await poll(false);
          if (result.outcome !== "leased-elsewhere") {
            const due = (await readState()).nextRunAt;
            if (due !== null) wait = Math.max(0, Date.parse(due) - clock.now());
          }
        } catch (err) {
          logger.warn({ err }, "monitoring poll failed");
        }
        polling = undefined;
        schedulePoll(Math.min(wait, maxBackoffMs));
      })();
      polling = run;
    }, ms);
  }

  return {
    source,

    async start() {
      if (started) return;
      started = true;
      if (acknowledging) {
        unlisten = outbox.listen(handlers);
        for (const name of kickOn) deps.events.on(name, onEnqueued);
        try {
          await catchUp();
        } catch (err) {
          logger.error({ err }, "monitoring actions catch-up failed");
        }
        if (!storage.shared) {
          const released = await outbox.releaseClaims();
          if (released > 0) logger.info({ released }, "monitoring actions of a previous process released");
        }
        if (!manual) worker.kick();
      }
      schedulePoll(0);
      logger.info({ pulling, acknowledging, intervalMs }, "monitoring poller started");
    },

    async close() {
      if (!started || abort.signal.aborted) return;
      abort.abort();
      unlisten?.();
      for (const name of kickOn) deps.events.off(name, onEnqueued);
      clock.clearTimeout(pollTimer);
      await Promise.allSettled([worker.stop(), polling, outbox.settled()]);
      await storage.leases.release(monitoringLeaseName(source), deps.owner).catch(() => {});
      logger.info({}, "monitoring poller closed");
    },

    poll: (opts = {}) => poll(opts.force === true),
    flush: () => outbox.flush(),
    settled: () => outbox.settled(),

    async status() {
      const [state, lease, pendingActions, deadActions] = await Promise.all([
        readState(),
        storage.leases.get(monitoringLeaseName(source)),
        storage.outbox.count({ target, status: "pending" }),
        storage.outbox.count({ target, status: "dead" }),
      ]);
      const leaseLive = lease !== undefined && Date.parse(lease.expiresAt) > clock.now();
      return {
        source,
        enabled: pulling,
        intervalMs,
        acknowledge: acknowledging,
        ...state,
        nextRunAt: pulling ? state.nextRunAt : null,
        leaseOwner: leaseLive ? lease.owner : null,
        pendingActions,
        deadActions,
      };
    },
  };
}
