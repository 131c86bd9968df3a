/**
 * The intake queue: a webhook delivery is acknowledged once its raw input (headers without
 * credentials, the raw body, who sent it) is durable in the store, and is parsed, folded,
 * analyzed and stored behind it, in id order per source. The queue is bounded in entries and
 * bytes, and each source may hold only its share, so one noisy source cannot crowd out the
 * others: past a bound a delivery is refused (`RW_ERR_INTAKE_SOURCE_FULL`, 429, or
 * `RW_ERR_INTAKE_FULL`, 503, both with `details.retryAfterSeconds`) and nothing is stored. What
 * was acknowledged is never dropped: the tickets' write removes its entry in the same
 * transaction, and `start()` resumes whatever a previous process left.
 *
 * With a shared store (PostgreSQL, several engine instances), one instance at a time works the
 * queue: it holds the named lease `intake:webhooks` while it drains (renewed every third of the
 * lease TTL, given up once the queue is idle or the engine closes), and an instance that dies
 * loses it when it runs out, so another takes over what was acknowledged. A delivery answered
 * `processed` on an instance that does not hold the lease is answered once the holder stored it:
 * the holder sends the outcome back over the store's signals (intake-relay.ts).
 *
 * Over 500 lines: the enqueue with its bounds, the drain under the lease and the submitters
 * waiting for their entries share one closure's state (the waiters, the lease, the poll timer);
 * what stands apart, the relay between instances, is in its own file.
 */
import { z } from "zod";
import { type ErrorCode, errorCatalog, isRunwardenError, rwError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import { HeldLease } from "../internal/held-lease.js";
import type { WebhookRequest } from "../plugin.js";
import type { ConnectorRegistry } from "../registry.js";
import type { IntakeBounds, IntakeDepth, IntakeEntry } from "../storage.js";
import { createOutcomeRelay, type RemoteOutcome, storedTopic } from "./intake-relay.js";
import type { MonitoringIntake } from "./monitoring.js";
import type { IngestResult, WebhookResult } from "./types.js";

/** The intake queue's options (`createEngine({ intake })`). */
export const IntakeQueueOptions = z
  .object({
    /** Queue webhooks (the generic one and monitoring connectors'). Default false: stored directly. */
    enabled: z.boolean().default(false),
    /** Deliveries the queue holds at most. Default 10,000. */
    maxEntries: z.number().int().positive().default(10_000),
    /** Payload bytes the queue holds at most. Default 64 MiB. */
    maxBytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024),
    /** The share of both bounds one source may hold, in (0, 1]. Default 0.5. */
    sourceShare: z.number().positive().max(1).default(0.5),
    /**
     * When a webhook is answered: `durable` once its entry is committed (202 with the entry id,
     * tickets stored right after), `processed` once its tickets are stored (202 with the tickets,
     * as without a queue). Default `processed`.
     */
    acknowledge: z.enum(["durable", "processed"]).default("processed"),
    /** The `Retry-After` a refused delivery is given, in seconds. Default 2. */
    retryAfterSeconds: z.number().int().positive().default(2),
    /** Entries read per pass of the worker. Default 256. */
    pageSize: z.number().int().positive().default(256),
  })
  .strict();
/** The intake queue's options as given (every field optional). */
export type IntakeQueueOptionsInput = z.input<typeof IntakeQueueOptions>;
type Options = z.output<typeof IntakeQueueOptions>;

/** What a queued delivery's submitter gets back. */
export interface IntakeReceipt {
  /** The durable entry. */
  entryId: number;
  /** The queue's depth right after it (in all, and for its source). */
  depth: IntakeDepth;
  /**
   * Settles once the entry is stored as tickets (with what `ingestWebhook` returns) or refused by
   * parsing (with that error); entries are worked through once the engine has started.
   *
   * With a shared store, whichever engine instance holds the queue's lease stores the entry; when
   * that is another instance, it sends the outcome back (ticket ids, resolutions, warnings, or the
   * parsing error's code and message) and this promise settles with the tickets as stored then
   * read here, or rejects with an error of that code. Should that signal be lost (a reconnect),
   * the entry found gone from the queue settles with no tickets and a warning saying so, at most
   * about two thirds of the lease TTL (`policy.leaseTtlMs`) later. Rejects with
   * `RW_ERR_STORAGE_UNAVAILABLE` when this engine closes first (the entry stays queued).
   */
  processed: Promise<WebhookResult>;
}

/** The queue's depth: in all and per source, with its bounds. */
export interface IntakeQueueDepth {
  /** Entries waiting to be processed, all sources together. */
  entries: number;
  /** Their payload bytes. */
  bytes: number;
  /** The same per source (`alertmanager`, `datadog`, …); a source with nothing queued is absent. */
  sources: Record<string, { entries: number; bytes: number }>;
  /** The bounds the queue enforces (whole queue and each source's share). */
  bounds: IntakeBounds;
}

/** The intake queue (`engine.intake`). */
export interface IntakeQueue {
  /** True when webhooks go through the queue (`intake.enabled`). */
  readonly enabled: boolean;
  /** When a queued webhook is answered (see IntakeQueueOptions). */
  readonly acknowledge: "durable" | "processed";
  /** True when the queue is enabled and `source`'s webhooks can be queued. */
  accepts(source: string): boolean;
  /**
   * Verifies a webhook delivery and makes it durable. Throws what verification throws, and
   * `RW_ERR_INTAKE_SOURCE_FULL` / `RW_ERR_INTAKE_FULL` (nothing stored) past a bound.
   */
  submitWebhook(
    source: string,
    request: WebhookRequest,
    options?: { submittedBy?: string },
  ): Promise<IntakeReceipt>;
  /** What is queued now. */
  depth(): Promise<IntakeQueueDepth>;
  /** Starts working through the queue, beginning with what a previous process left. */
  start(): void;
  /** Stops after the entries in hand; what is left stays queued for the next start. */
  close(): Promise<void>;
}

/** Headers that carry credentials: never stored (verification ran before the enqueue). */
const credentialHeader = /authorization|cookie|token|secret|signature|password|api-?key|session/i;

/** Deliveries of one source stored with one ticket write at most. */
const maxBatch = 64;

/** Codes that mean the source's connector is not here (yet): its entries wait, never dropped. */
const waitsForConnector = new Set(["RW_ERR_PLUGIN_NOT_FOUND", "RW_ERR_PLUGIN_NOT_CONFIGURED"]);

/** The stored form of a webhook delivery. */
interface WebhookPayload {
  headers: Record<string, string>;
  rawBody: string;
  submittedBy: string | null;
  /** With a shared store: the instance whose submitter waits for the outcome. */
  receiver?: string;
}

/** The named lease of the webhook queue (one holder works every source, side by side). */
export const intakeLeaseName = "intake:webhooks";
/** Published (with the instance id) when an instance gives the queue's lease up. */
const releasedTopic = "runwarden.intake.released";

/** Creates the intake queue over the engine's store. */
export function createIntakeQueue(
  ctx: EngineContext,
  deps: {
    monitoring: MonitoringIntake;
    registry: ConnectorRegistry;
    options?: IntakeQueueOptionsInput;
    /**
     * Finishes the durable CSV imports a previous process left (run once, at `start()`); it
     * stops between chunks once `stopping()` says so (what is left waits for the next start).
     */
    resumeCsvImports?: (stopping: () => boolean) => Promise<void>;
  },
): IntakeQueue {
  const parsed = IntakeQueueOptions.safeParse(deps.options ?? {});
  if (!parsed.success) {
    throw rwError("RW_ERR_CONFIG_INVALID", "The intake queue options are invalid", {
      details: {
        issues: parsed.error.issues.map((i) => ({ path: ["intake", ...i.path], message: i.message })),
      },
    });
  }
  const options: Options = parsed.data;
  const log = ctx.logger.child({ component: "intake" });
  const { storage, events } = ctx;
  const bounds: IntakeBounds = {
    maxEntries: options.maxEntries,
    maxBytes: options.maxBytes,
    maxSourceEntries: Math.max(1, Math.floor(options.maxEntries * options.sourceShare)),
    maxSourceBytes: Math.max(1, Math.floor(options.maxBytes * options.sourceShare)),
  };
  /** Submitters waiting for their entry's tickets, by entry id. */
  const waiting = new Map<number, { resolve(result: WebhookResult): void; reject(err: unknown): void }>();
  let running = false;
  let closed = false;
  let draining: Promise<void> | undefined;
  let again = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let resuming: Promise<void> | undefined;

  // A shared store: one instance at a time works the queue, under its named lease.
  const shared = storage.shared;
  const ttlMs = Math.max(300, ctx.policy.leaseTtlMs);
  const lease = shared ? new HeldLease(ctx, intakeLeaseName, ttlMs, log) : undefined;
  /** Another instance holds the lease until then (ms): no pass starts here before. */
  let elsewhereUntil = 0;
  /** Work arrived here while another instance held the lease: a pass runs once it is free. */
  let wanted = false;
  let releasing: Promise<void> | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  const unsubscribes: (() => void)[] = [];
  /** Waited entries found gone from the queue with no outcome received yet. */
  const gone = new Set<number>();
  /** Outcomes to and from the other instances (shared store). */
  const relay = createOutcomeRelay({
    storage,
    instanceId: ctx.instanceId,
    log,
    isWaiting: (entryId) => waiting.has(entryId),
    deliver: (outcome) => void applyRemote(outcome),
  });

  function kick(): void {
    // Nothing runs in the background before the engine starts; entries wait, durable.
    if (closed || !running) return;
    if (shared && Date.now() < elsewhereUntil) {
      wanted = true;
      return;
    }
    if (draining) {
      again = true;
      return;
    }
    draining = drain()
      .catch((err: unknown) => {
        log.warn({ err }, "intake queue pass failed; retrying");
        retryLater();
      })
      .finally(() => {
        draining = undefined;
        if (again) {
          again = false;
          kick();
        } else if (lease?.holding) {
          // Idle: the lease is given up, so whichever instance gets work next takes it.
          releaseLease();
        }
      });
  }

  /** Gives the queue's lease up and says so, so an instance that has work waiting takes it at once. */
  function releaseLease(): Promise<void> {
    if (!lease) return Promise.resolve();
    releasing ??= lease
      .release()
      .then(() =>
        storage.signals.publish(releasedTopic, ctx.instanceId).catch((err: unknown) => {
          log.debug({ err }, "intake release signal not sent");
        }),
      )
      .finally(() => {
        releasing = undefined;
      });
    return releasing;
  }

  /** Takes (or keeps) the queue's lease; false when another instance holds it (then noted). */
  async function holdLease(): Promise<boolean> {
    if (!lease) return true;
    await releasing;
    if (await lease.confirm()) return true;
    wanted = true;
    const until = await lease.heldElsewhereUntil();
    elsewhereUntil = until;
    // Free again already (released meanwhile, or the store failed): try again shortly.
    if (until === 0) retryLater();
    else log.debug({ until: new Date(until).toISOString() }, "intake queue leased by another instance");
    return false;
  }

  function retryLater(): void {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      kick();
    }, 1_000);
    retryTimer.unref?.();
  }

  /** One pass over the queue in id order: sources side by side, each source's entries in turn. */
  async function drain(): Promise<void> {
    if (!(await holdLease())) return;
    let afterId = 0;
    /** Sources with an entry that must be retried: their later entries wait (order per source). */
    const blocked = new Set<string>();
    let lost = false;
    while (!closed && !lost) {
      const page = await storage.pendingIntake({ afterId, limit: options.pageSize, kind: "webhook" });
      if (page.length === 0) return;
      afterId = page.at(-1)!.id;
      const bySource = new Map<string, IntakeEntry[]>();
      for (const entry of page) {
        // CSV import chunks are stored by their import (or resumed at start), not here.
        if (entry.kind !== "webhook" || blocked.has(entry.source)) continue;
        const list = bySource.get(entry.source) ?? [];
        list.push(entry);
        bySource.set(entry.source, list);
      }
      await Promise.all(
        [...bySource].map(async ([source, entries]) => {
          // Consecutive deliveries of a source share one ticket write (and one commit).
          for (let at = 0; at < entries.length && !closed; at += maxBatch) {
            // Each batch starts with the lease sure to outlast it (renewed when a third is left).
            if (lost || !(await holdLease())) {
              lost = true;
              return;
            }
            if (!(await processBatch(source, entries.slice(at, at + maxBatch)))) {
              blocked.add(source);
              retryLater();
              return;
            }
          }
        }),
      );
    }
  }

  /**
   * Stores several consecutive entries of one source with one ticket write; falls back to one
   * entry at a time when they cannot share it (a resolved alert, an error). False when an entry
   * must be retried (the ones before it are stored).
   */
  async function processBatch(source: string, entries: readonly IntakeEntry[]): Promise<boolean> {
    const oneByOne = async () => {
      for (const entry of entries) if (closed || !(await processEntry(entry))) return false;
      return true;
    };
    if (entries.length === 1) return oneByOne();
    let outcomes: Awaited<ReturnType<MonitoringIntake["ingestQueuedMany"]>>;
    let receivers: (string | undefined)[];
    try {
      const decoded = entries.map(decode);
      receivers = decoded.map((d) => d.receiver);
      outcomes = await deps.monitoring.ingestQueuedMany(
        source,
        entries.map((entry, i) => {
          const { request, submittedBy } = decoded[i]!;
          return { id: entry.id, request, submittedBy };
        }),
      );
    } catch {
      // Nothing of the batch was stored: each entry on its own says what is wrong with it.
      return oneByOne();
    }
    if (!outcomes) return oneByOne();
    // Entries no ticket write consumed (refused by parsing, or carrying no ticket) go on their own.
    const leftover = entries.filter((_entry, i) => {
      const outcome = outcomes[i]!;
      return !outcome.ok || outcome.result.tickets.length === 0;
    });
    if (leftover.length > 0) {
      try {
        await storage.completeIntake(leftover.map((entry) => entry.id));
      } catch (err) {
        log.warn({ source, err }, "queued webhooks not removed yet; retrying");
        return false;
      }
    }
    deps.registry.recordActivity("monitoring", source, { ok: true });
    const remote: { receiver: string; outcome: RemoteOutcome }[] = [];
    entries.forEach((entry, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) {
        events.emit("intake:processed", {
          entryId: entry.id,
          source,
          tickets: outcome.result.tickets.length,
        });
        finish(entry.id, receivers[i], { ok: true, result: outcome.result }, remote);
        return;
      }
      dropped(entry, outcome.error);
      finish(entry.id, receivers[i], outcome, remote);
    });
    await relay.send(remote);
    return true;
  }

  /** Reports a delivery refused by parsing (already removed from the queue). */
  function dropped(entry: IntakeEntry, err: unknown): void {
    const code = isRunwardenError(err) ? err.code : "RW_ERR_INTERNAL";
    log.warn({ entryId: entry.id, source: entry.source, code }, "queued webhook refused by parsing");
    deps.registry.recordActivity("monitoring", entry.source, {
      ok: false,
      error: `${code}: ${ctx.redactor.redact((err as Error)?.message ?? String(err))}`,
    });
    events.emit("intake:failed", { entryId: entry.id, source: entry.source, code });
  }

  /** Stores one entry's tickets; false when the store failed and the entry must be retried. */
  async function processEntry(entry: IntakeEntry): Promise<boolean> {
    let result: WebhookResult;
    let receiver: string | undefined;
    try {
      const decoded = decode(entry);
      receiver = decoded.receiver;
      result = await deps.monitoring.ingestQueued(entry.source, decoded.request, decoded.submittedBy, [
        entry.id,
      ]);
      // No ticket write consumed it (only resolutions, or nothing): removed on its own.
      if (result.tickets.length === 0) await storage.completeIntake([entry.id]);
      deps.registry.recordActivity("monitoring", entry.source, { ok: true });
    } catch (err) {
      if (
        isRunwardenError(err) &&
        err.code === "RW_ERR_STORAGE_CONFLICT" &&
        err.details?.reason === "intake"
      ) {
        // Another engine instance sharing the store stored it first (it held the lease after this
        // one lost it); that instance sends the outcome to whoever waits for it.
        if (!shared) settle(entry.id, { tickets: [], resolved: [], warnings: [] });
        return true;
      }
      // Retried later: a store that failed, or a source whose connector this engine lacks (yet).
      if (isRunwardenError(err) && (err.retryable || waitsForConnector.has(err.code))) {
        log.warn({ entryId: entry.id, source: entry.source, err }, "queued webhook not stored yet; retrying");
        return false;
      }
      // It will never parse: the sender was answered already, so it is dropped, loudly.
      try {
        await storage.completeIntake([entry.id]);
      } catch (storeErr) {
        log.warn({ entryId: entry.id, err: storeErr }, "refused webhook not removed yet; retrying");
        return false;
      }
      dropped(entry, err);
      const remote: { receiver: string; outcome: RemoteOutcome }[] = [];
      finish(entry.id, receiver, { ok: false, error: err }, remote);
      await relay.send(remote);
      return true;
    }
    events.emit("intake:processed", {
      entryId: entry.id,
      source: entry.source,
      tickets: result.tickets.length,
    });
    const remote: { receiver: string; outcome: RemoteOutcome }[] = [];
    finish(entry.id, receiver, { ok: true, result }, remote);
    await relay.send(remote);
    return true;
  }

  /**
   * Hands an entry's outcome to its submitter: here when it waits here, otherwise (a shared store)
   * collected in `remote` for the instance it waits on.
   */
  function finish(
    entryId: number,
    receiver: string | undefined,
    outcome: { ok: true; result: WebhookResult } | { ok: false; error: unknown },
    remote: { receiver: string; outcome: RemoteOutcome }[],
  ): void {
    if (receiver !== undefined && receiver !== ctx.instanceId) {
      remote.push({ receiver, outcome: toRemote(entryId, outcome) });
      return;
    }
    if (outcome.ok) settle(entryId, outcome.result);
    else reject(entryId, outcome.error);
  }

  function toRemote(
    id: number,
    outcome: { ok: true; result: WebhookResult } | { ok: false; error: unknown },
  ): RemoteOutcome {
    if (outcome.ok) {
      const { tickets, resolved, warnings } = outcome.result;
      return {
        id,
        t: tickets.map(({ ticket, deduplicated }) => (deduplicated ? -ticket.id : ticket.id)),
        r: resolved.map((ticket) => ticket.id),
        w: warnings,
      };
    }
    const err = outcome.error;
    const message = ctx.redactor.redact((err as Error)?.message ?? String(err));
    if (!isRunwardenError(err)) return { id, c: null, m: message };
    const details = err.details && JSON.stringify(err.details).length <= 2_000 ? err.details : undefined;
    return { id, c: err.code, m: message, ...(details ? { d: details } : {}) };
  }

  function settle(entryId: number, result: WebhookResult): void {
    const waiter = waiting.get(entryId);
    waiting.delete(entryId);
    gone.delete(entryId);
    relay.forget(entryId);
    waiter?.resolve(result);
  }

  function reject(entryId: number, err: unknown): void {
    const waiter = waiting.get(entryId);
    waiting.delete(entryId);
    gone.delete(entryId);
    relay.forget(entryId);
    waiter?.reject(err);
  }

  async function applyRemote(outcome: RemoteOutcome): Promise<void> {
    if (!waiting.has(outcome.id)) return;
    if ("c" in outcome) {
      const code = outcome.c;
      reject(
        outcome.id,
        code !== null && code in errorCatalog
          ? rwError(code as ErrorCode, outcome.m, outcome.d ? { details: outcome.d } : undefined)
          : new Error(outcome.m),
      );
      return;
    }
    try {
      const ids = [...outcome.t.map((id) => Math.abs(id)), ...outcome.r];
      const found = new Map(
        (ids.length === 0
          ? []
          : await storage.tickets.find({ where: { id: { in: [...new Set(ids)] } }, limit: ids.length })
        ).map((ticket) => [ticket.id, ticket]),
      );
      const tickets: IngestResult[] = [];
      for (const id of outcome.t) {
        const ticket = found.get(Math.abs(id));
        if (ticket) tickets.push({ ticket, deduplicated: id < 0 });
      }
      const resolved = outcome.r.flatMap((id) => found.get(id) ?? []);
      settle(outcome.id, { tickets, resolved, warnings: outcome.w });
    } catch (err) {
      // The tickets could not be read: the entry is found gone from the queue instead.
      log.warn({ entryId: outcome.id, err }, "tickets another instance stored not read");
    }
  }

  /**
   * Shared store, every third of the lease TTL: works the queue when its lease ran out or was
   * freed (an instance that died), resumes CSV imports nobody holds, and settles waiting
   * submitters whose entry another instance stored but whose outcome never arrived.
   */
  async function poll(): Promise<void> {
    if (closed) return;
    try {
      if (!draining && Date.now() >= elsewhereUntil) {
        if (wanted) {
          wanted = false;
          kick();
        } else if ((await storage.pendingIntake({ limit: 1, kind: "webhook" })).length > 0) kick();
      }
      if (!resuming) resumeImports();
      await checkWaiters();
    } catch (err) {
      log.warn({ err }, "intake queue check failed");
    }
  }

  /** Waiting submitters' entries gone from the queue for a whole poll with no outcome: settled empty. */
  async function checkWaiters(): Promise<void> {
    // The oldest first: the most likely to be stored; a bounded number of reads per poll.
    for (const entryId of [...waiting.keys()].sort((a, b) => a - b).slice(0, 64)) {
      if (closed) return;
      const [next] = await storage.pendingIntake({ afterId: entryId - 1, limit: 1, kind: "webhook" });
      if (next?.id === entryId || !waiting.has(entryId)) {
        gone.delete(entryId);
        continue;
      }
      if (!gone.has(entryId)) {
        gone.add(entryId);
        continue;
      }
      log.warn({ entryId }, "queued webhook stored by another instance; its outcome never arrived");
      settle(entryId, {
        tickets: [],
        resolved: [],
        warnings: ["stored by another engine instance, whose report of its tickets did not arrive"],
      });
    }
  }

  function schedulePoll(): void {
    if (closed || !shared) return;
    pollTimer = setTimeout(
      () => {
        polling = poll().finally(() => {
          polling = undefined;
          schedulePoll();
        });
      },
      Math.max(100, Math.floor(ttlMs / 3)),
    );
    pollTimer.unref?.();
  }

  function resumeImports(): void {
    if (!deps.resumeCsvImports || closed) return;
    resuming = deps
      .resumeCsvImports(() => closed)
      .catch((err: unknown) => {
        log.warn({ err }, "unfinished CSV imports not resumed; they wait for the next start");
      })
      .finally(() => {
        resuming = undefined;
      });
  }

  return {
    enabled: options.enabled,
    acknowledge: options.acknowledge,

    accepts(source) {
      return options.enabled && deps.monitoring.queueable(source);
    },

    async submitWebhook(source, request, submitOptions = {}) {
      await deps.monitoring.verifyWebhook(source, request);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers))
        if (value !== undefined && !credentialHeader.test(name)) headers[name] = value;
      const payload: WebhookPayload = {
        headers,
        rawBody: request.rawBody,
        submittedBy: submitOptions.submittedBy ?? null,
        // Whichever instance stores it sends the outcome here, where the submitter waits.
        ...(shared ? { receiver: ctx.instanceId } : {}),
      };
      const outcome = await storage.enqueueIntake(
        { source, kind: "webhook", payload: JSON.stringify(payload), receivedAt: ctx.nowIso() },
        bounds,
      );
      if (!outcome.accepted) {
        const { depth, full } = outcome;
        events.emit("intake:refused", { source, full, entries: depth.entries, bytes: depth.bytes });
        const details = {
          source,
          retryAfterSeconds: options.retryAfterSeconds,
          entries: full === "queue" ? depth.entries : depth.sourceEntries,
          maxEntries: full === "queue" ? bounds.maxEntries : bounds.maxSourceEntries,
        };
        throw full === "queue"
          ? rwError("RW_ERR_INTAKE_FULL", "the intake queue is full; retry later", { details })
          : rwError(
              "RW_ERR_INTAKE_SOURCE_FULL",
              `the source "${source}" holds its share of the intake queue; retry later`,
              {
                details,
              },
            );
      }
      const { entry, depth } = outcome;
      const processed = new Promise<WebhookResult>((resolve, reject) =>
        waiting.set(entry.id, { resolve, reject }),
      );
      // A submitter that does not wait (acknowledge: durable) must not leave an unhandled rejection.
      processed.catch(() => undefined);
      events.emit("intake:queued", { entryId: entry.id, source, entries: depth.entries, bytes: depth.bytes });
      kick();
      return { entryId: entry.id, depth, processed };
    },

    async depth() {
      return { ...(await storage.intakeDepth()), bounds: { ...bounds } };
    },

    start() {
      if (running || closed) return;
      running = true;
      if (shared) {
        unsubscribes.push(
          storage.signals.subscribe(releasedTopic, (owner) => {
            if (owner === ctx.instanceId) return;
            elsewhereUntil = 0;
            if (wanted) {
              wanted = false;
              kick();
            }
          }),
          storage.signals.subscribe(storedTopic, relay.receive),
        );
        schedulePoll();
      }
      kick();
      resumeImports();
    },

    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      clearTimeout(pollTimer);
      pollTimer = undefined;
      for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
      await draining;
      await resuming;
      await polling;
      // Given up at once (not left to run out), so another instance takes the queue over now.
      if (lease?.holding) await releaseLease();
      await releasing;
      lease?.stop();
      for (const [entryId, waiter] of waiting) {
        waiter.reject(
          rwError("RW_ERR_STORAGE_UNAVAILABLE", "the engine closed before the queued webhook was stored", {
            details: { entryId },
          }),
        );
      }
      waiting.clear();
    },
  };
}

/** A stored delivery as the request its connector parses, who sent it and where its submitter waits. */
function decode(entry: IntakeEntry): {
  request: WebhookRequest;
  submittedBy: string | null;
  receiver: string | undefined;
} {
  const payload = JSON.parse(entry.payload) as WebhookPayload;
  return {
    request: { headers: payload.headers, body: bodyOf(payload.rawBody), rawBody: payload.rawBody },
    submittedBy: payload.submittedBy,
    receiver: payload.receiver,
  };
}

/** The JSON body of a raw delivery, or undefined when it is empty or not JSON (a connector reads `rawBody`). */
function bodyOf(rawBody: string): unknown {
  if (rawBody.trim() === "") return undefined;
  try {
    return JSON.parse(rawBody);
  } catch {
    return undefined;
  }
}
