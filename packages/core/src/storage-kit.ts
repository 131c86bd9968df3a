/**
 * Helpers for store authors: the rules every `Storage` implementation applies the same way
 * (query checks, signal checks, the live-session key, ticket folding on ingest, the not-found
 * error), so the memory, SQLite and PostgreSQL stores cannot drift apart; and the paging and
 * not-found helpers core's APIs share.
 */
import type { Logger } from "pino";
import {
  finalSessionStatuses,
  flapReason,
  foldableTicketStatuses,
  openTicketStatuses,
  type Ticket,
} from "./domain.js";
import { type RunwardenError, rwError } from "./errors.js";
import type {
  CollectionName,
  IngestOptions,
  IntakeBounds,
  IntakeDepth,
  LeaseHolder,
  NewDoc,
  Query,
  Signals,
  Where,
} from "./storage.js";
import { indexedFields } from "./storage.js";

/**
 * `RW_ERR_STORAGE_NOT_FOUND` for a record that does not exist, with `{ entity, id }` as details.
 * `message` keeps an API's own wording; the default is `no <entity> with id <id>`.
 */
export function notFound(entity: string, id: number, message = `no ${entity} with id ${id}`): RunwardenError {
  return rwError("RW_ERR_STORAGE_NOT_FOUND", message, { details: { entity, id } });
}

/** What a store throws when an update names a document its collection does not hold. */
export function documentNotFound(collection: string, id: number): RunwardenError {
  return notFound(collection, id, `No ${collection} document with this id`);
}

/** A listing's page size: `limit` (default `fallback`) as an integer from 1 to `max`. */
export function clampLimit(limit: number | undefined, fallback = 50, max = 500): number {
  return Math.min(Math.max(1, Math.trunc(limit ?? fallback)), max);
}

/**
 * The page of a keyset listing that asked the store for `limit + 1` items: the first `limit`,
 * and the last one's id as the next cursor when there were more (null on the last page).
 */
export function pageOf<T extends { id: number }>(
  items: readonly T[],
  limit: number,
): { items: T[]; nextCursor: number | null } {
  const page = items.slice(0, limit);
  return { items: page, nextCursor: items.length > limit ? (page[page.length - 1]?.id ?? null) : null };
}

const TOPIC = /^[a-z0-9_.:-]{1,63}$/i;
/** PostgreSQL's NOTIFY payload limit is 8000 bytes; every store keeps to it. */
export const maxSignalPayloadBytes = 7_900;

/** Throws `RW_ERR_INPUT_INVALID` unless the topic and payload fit every store. */
export function checkSignal(topic: string, payload: string): void {
  if (typeof topic !== "string" || !TOPIC.test(topic)) {
    throw rwError("RW_ERR_INPUT_INVALID", "Signal topic must be 1-63 characters of [a-z0-9_.:-]", {
      details: { fields: [{ field: "topic", message: "invalid topic" }] },
    });
  }
  if (typeof payload !== "string" || Buffer.byteLength(payload) > maxSignalPayloadBytes) {
    throw rwError("RW_ERR_INPUT_INVALID", "Signal payload must be a string of at most 7900 bytes", {
      details: { fields: [{ field: "payload", message: "too large or not a string" }] },
    });
  }
}

/** A `Where` condition, normalised: equality, or membership (an empty list matches nothing). */
export type Condition = { field: string; eq: unknown } | { field: string; in: readonly unknown[] };

/**
 * Checks a query against the collection's indexed fields and returns its conditions; throws
 * `RW_ERR_INPUT_INVALID` for an unknown field or a bad limit/cursor. SQL stores build column names
 * only from fields that passed this check.
 */
export function checkQuery<C extends CollectionName>(collection: C, query: Query<C> = {}): Condition[] {
  const conditions = checkWhere(collection, query.where);
  if (query.limit !== undefined && !(Number.isSafeInteger(query.limit) && query.limit >= 0)) {
    throw invalid("limit", "must be a non-negative integer");
  }
  if (query.cursor !== undefined && !Number.isSafeInteger(query.cursor)) {
    throw invalid("cursor", "must be an integer id");
  }
  if (query.order !== undefined && query.order !== "asc" && query.order !== "desc") {
    throw invalid("order", "must be asc or desc");
  }
  return conditions;
}

/** Checks a `Where` (see `checkQuery`). */
export function checkWhere<C extends CollectionName>(collection: C, where: Where<C> = {}): Condition[] {
  const allowed: readonly string[] = indexedFields[collection];
  const conditions: Condition[] = [];
  for (const [field, value] of Object.entries(where as Record<string, unknown>)) {
    if (value === undefined) continue;
    if (field !== "id" && !allowed.includes(field))
      throw invalid(field, `is not a filterable field of ${collection}`);
    if (value !== null && typeof value === "object") {
      const list = (value as { in?: unknown }).in;
      if (!Array.isArray(list) || !list.every(isScalar))
        throw invalid(field, "must be a value or { in: [values] }");
      conditions.push({ field, in: list });
    } else if (isScalar(value)) {
      conditions.push({ field, eq: value });
    } else {
      throw invalid(field, "must be a value or { in: [values] }");
    }
  }
  return conditions;
}

function isScalar(value: unknown): boolean {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function invalid(field: string, message: string) {
  return rwError("RW_ERR_INPUT_INVALID", `Invalid storage query: ${field} ${message}`, {
    details: { fields: [{ field, message }] },
  });
}

/** The fields the live-session key reads. */
export interface LiveSessionFields {
  /** The session's status. */
  status: string;
  /** True for a dry run (never live). */
  dryRun: boolean;
  /** The ticket fingerprint it remediates. */
  fingerprint: string;
  /** The runbook key it runs. */
  runbookKey: string;
}

/**
 * The partial unique key of a session (see `uniqueKeys` in the port): defined while the session is
 * live, not a dry run and has a fingerprint; undefined otherwise.
 */
export function liveSessionKey(session: LiveSessionFields): string | undefined {
  if (session.dryRun || session.fingerprint === "") return undefined;
  if ((finalSessionStatuses as readonly string[]).includes(session.status)) return undefined;
  return JSON.stringify([session.fingerprint, session.runbookKey]);
}

/** True when a repeat within the window folds into a ticket in this status (`foldableTicketStatuses`). */
export function isFoldableTicketStatus(status: string): boolean {
  return (foldableTicketStatuses as readonly string[]).includes(status);
}

/** True when a ticket in this status takes repeats (see `openTicketStatuses`). */
export function isOpenTicketStatus(status: string): boolean {
  return (openTicketStatuses as readonly string[]).includes(status);
}

/** What a store does to commit an ingest batch, planned by `planIngest`. */
export interface IngestPlan {
  /** New tickets, in input order of their first input, with their final occurrences. */
  inserts: NewDoc<Ticket>[];
  /** Existing tickets to write (each once, version check on `version`), with their new fields. */
  updates: Ticket[];
  /** Per input: which insert or update holds its ticket, and whether it was folded. */
  outcomes: { target: { insert: number } | { update: number }; deduplicated: boolean }[];
}

/**
 * Plans an ingest batch (see `Storage.ingestTickets`). `openTickets(fingerprint)` returns the
 * stored tickets with that fingerprint in an open status; the one seen last is the fold target
 * when it was seen within the window. Throws `RW_ERR_INPUT_INVALID` when `now` is not a date.
 */
export function planIngest(
  inputs: readonly NewDoc<Ticket>[],
  options: IngestOptions,
  openTickets: (fingerprint: string) => readonly Ticket[],
): IngestPlan {
  const now = Date.parse(options.now);
  if (Number.isNaN(now)) throw invalid("now", "must be an ISO timestamp");
  const plan: IngestPlan = { inserts: [], updates: [], outcomes: [] };
  const targets = new Map<string, { insert: number } | { update: number }>();
  for (const input of inputs) {
    const known = targets.get(input.fingerprint) ?? storedTarget(input.fingerprint);
    if (known) {
      const ticket = "insert" in known ? plan.inserts[known.insert]! : plan.updates[known.update]!;
      ticket.occurrences += 1;
      ticket.lastSeenAt = options.now;
      ticket.updatedAt = options.now;
      plan.outcomes.push({ target: known, deduplicated: true });
      continue;
    }
    const target = { insert: plan.inserts.push({ ...input }) - 1 };
    if (isOpenTicketStatus(input.status)) targets.set(input.fingerprint, target);
    plan.outcomes.push({ target, deduplicated: false });
  }
  return plan;

  function storedTarget(fingerprint: string): { update: number } | undefined {
    let latest: Ticket | undefined;
    let latestSeen = Number.NaN;
    for (const ticket of openTickets(fingerprint)) {
      if (!isFoldableTicketStatus(ticket.status)) continue;
      const seen = Date.parse(ticket.lastSeenAt);
      if (!latest || seen > latestSeen || (seen === latestSeen && ticket.id > latest.id)) {
        latest = ticket;
        latestSeen = seen;
      }
    }
    if (!latest || !(now - latestSeen <= options.dedupeWindowMs)) return undefined;
    const update: Ticket =
      latest.status === "resolved"
        ? { ...latest, status: "needs_human", statusReason: flapReason }
        : { ...latest };
    const target = { update: plan.updates.push(update) - 1 };
    targets.set(fingerprint, target);
    return target;
  }
}

/** An in-process `Signals` for single-process stores; `close()` drops every listener. */
export function createLocalSignals(logger?: Logger): Signals & { close(): void } {
  const listeners = new Map<string, Set<(payload: string) => void>>();
  return {
    async publish(topic, payload) {
      checkSignal(topic, payload);
      for (const listener of [...(listeners.get(topic) ?? [])]) {
        try {
          listener(payload);
        } catch (err) {
          logger?.warn({ err, topic }, "signal listener failed");
        }
      }
    },
    subscribe(topic, listener) {
      checkSignal(topic, "");
      const set = listeners.get(topic) ?? new Set();
      listeners.set(topic, set);
      // A wrapper, so that subscribing the same function twice gives two independent subscriptions.
      const entry = (payload: string) => listener(payload);
      set.add(entry);
      return () => {
        set.delete(entry);
        if (set.size === 0 && listeners.get(topic) === set) listeners.delete(topic);
      };
    },
    close() {
      listeners.clear();
    },
  };
}

/**
 * How a named lease is kept in the named values (`leaseKey(name)`): JSON with the owner and the
 * expiry in epoch milliseconds, so a SQL store can compare both inside its upsert.
 */
export function encodeLease(owner: string, expiresMs: number): string {
  return JSON.stringify({ owner, expiresMs });
}

/** The holder a stored lease value names, or undefined for a value that is not one. */
export function decodeLease(value: string | undefined): LeaseHolder | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as { owner?: unknown; expiresMs?: unknown };
    if (typeof parsed.owner !== "string" || typeof parsed.expiresMs !== "number") return undefined;
    return { owner: parsed.owner, expiresAt: new Date(parsed.expiresMs).toISOString() };
  } catch {
    return undefined;
  }
}

/**
 * Which bound an intake entry of `bytes` would break on top of `depth` (the whole queue is
 * checked first), or undefined when it fits. Every store decides with this, inside the
 * transaction that would store the entry.
 */
export function intakeOverflow(
  depth: IntakeDepth,
  bytes: number,
  bounds: IntakeBounds,
): "queue" | "source" | undefined {
  if (depth.entries + 1 > bounds.maxEntries || depth.bytes + bytes > bounds.maxBytes) return "queue";
  if (depth.sourceEntries + 1 > bounds.maxSourceEntries || depth.sourceBytes + bytes > bounds.maxSourceBytes)
    return "source";
  return undefined;
}

/** A string's size in UTF-8 bytes (what intake bounds count). */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/**
 * `RW_ERR_STORAGE_CONFLICT` for an ingest whose intake entries are no longer queued (another
 * engine instance stored them first): nothing of it was stored.
 */
export function intakeGone(): RunwardenError {
  return rwError("RW_ERR_STORAGE_CONFLICT", "The intake entries were already stored", {
    details: { reason: "intake" },
  });
}
