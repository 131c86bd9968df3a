/**
 * The intake queue: a webhook delivery is acknowledged once its raw input (headers without
 * credentials, the raw body, who sent it) is durable in the store, and is parsed, folded,
 * analyzed and stored behind it, in id order per source. The queue is bounded in entries and
 * bytes, and each source may hold only its share, so one noisy source cannot crowd out the
 * others: past a bound a delivery is refused (`RW_ERR_INTAKE_SOURCE_FULL`, 429, or
 * `RW_ERR_INTAKE_FULL`, 503, both with `details.retryAfterSeconds`) and nothing is stored. What
 * was acknowledged is never dropped: the tickets' write removes its entry in the same
 * transaction, and `start()` resumes whatever a previous process left.
 */
import { z } from "zod";
import { isRunwardenError, rwError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import type { WebhookRequest } from "../plugin.js";
import type { ConnectorRegistry } from "../registry.js";
import type { IntakeBounds, IntakeDepth, IntakeEntry } from "../storage.js";
import type { MonitoringIntake } from "./monitoring.js";
import type { WebhookResult } from "./types.js";

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
   * parsing (with that error); entries are worked through once the engine has started. A delivery
   * another engine instance stored resolves with no tickets.
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
}

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

  function kick(): void {
    // Nothing runs in the background before the engine starts; entries wait, durable.
    if (closed || !running) return;
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
        }
      });
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
    let afterId = 0;
    /** Sources with an entry that must be retried: their later entries wait (order per source). */
    const blocked = new Set<string>();
    while (!closed) {
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
    try {
      outcomes = await deps.monitoring.ingestQueuedMany(
        source,
        entries.map((entry) => {
          const { request, submittedBy } = decode(entry);
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
    entries.forEach((entry, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) {
        events.emit("intake:processed", {
          entryId: entry.id,
          source,
          tickets: outcome.result.tickets.length,
        });
        settle(entry.id, outcome.result);
        return;
      }
      dropped(entry, outcome.error);
    });
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
    const waiter = waiting.get(entry.id);
    waiting.delete(entry.id);
    waiter?.reject(err);
  }

  /** Stores one entry's tickets; false when the store failed and the entry must be retried. */
  async function processEntry(entry: IntakeEntry): Promise<boolean> {
    let result: WebhookResult;
    try {
      const { request, submittedBy } = decode(entry);
      result = await deps.monitoring.ingestQueued(entry.source, request, submittedBy, [entry.id]);
      // No ticket write consumed it (only resolutions, or nothing): removed on its own.
      if (result.tickets.length === 0) await storage.completeIntake([entry.id]);
      deps.registry.recordActivity("monitoring", entry.source, { ok: true });
    } catch (err) {
      if (
        isRunwardenError(err) &&
        err.code === "RW_ERR_STORAGE_CONFLICT" &&
        err.details?.reason === "intake"
      ) {
        // Another engine instance sharing the store stored it first.
        settle(entry.id, { tickets: [], resolved: [], warnings: [] });
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
      return true;
    }
    events.emit("intake:processed", {
      entryId: entry.id,
      source: entry.source,
      tickets: result.tickets.length,
    });
    settle(entry.id, result);
    return true;
  }

  function settle(entryId: number, result: WebhookResult): void {
    const waiter = waiting.get(entryId);
    waiting.delete(entryId);
    waiter?.resolve(result);
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
      kick();
      resuming = deps
        .resumeCsvImports?.(() => closed)
        .catch((err: unknown) => {
          log.warn({ err }, "unfinished CSV imports not resumed; they wait for the next start");
        });
    },

    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      await draining;
      await resuming;
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

/** A stored delivery as the request its connector parses, and who sent it. */
function decode(entry: IntakeEntry): { request: WebhookRequest; submittedBy: string | null } {
  const payload = JSON.parse(entry.payload) as WebhookPayload;
  return {
    request: { headers: payload.headers, body: bodyOf(payload.rawBody), rawBody: payload.rawBody },
    submittedBy: payload.submittedBy,
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
