/**
 * The engine's typed event bus. Every arrow of the flow is an event, so an embedding service, the
 * HTTP adapter's live stream and the dashboard all observe the same facts. Names are
 * `noun:past-verb`; payloads are plain and serialisable, and never carry secrets.
 */
import { EventEmitter } from "eventemitter3";
import type { Decision, SessionStatus, StepStatus, TicketStatus } from "./domain.js";

/**
 * Every event the engine emits, by name, with its payload. Subscribe through `engine.events`.
 *
 * @example
 * ```ts
 * engine.events.on("approval:requested", ({ approvalId, risk }) => notifyOnCall(approvalId, risk));
 * ```
 */
export interface EngineEventMap {
  /**
   * A ticket was stored: new, or folded into an open ticket with the same fingerprint
   * (`deduplicated`).
   */
  "ticket:ingested": { ticketId: number; source: string; deduplicated: boolean; occurrences: number };
  /** The analyzer decided what to do about a ticket. */
  "ticket:analyzed": { ticketId: number; category: string; decision: Decision };
  /** A ticket's status changed; `reason` says why, for people. */
  "ticket:updated": { ticketId: number; status: TicketStatus; reason: string | null };
  /** A webhook delivery is durable in the intake queue (acknowledged); depth after it. */
  "intake:queued": { entryId: number; source: string; entries: number; bytes: number };
  /** A webhook delivery was refused because the queue (`full: "queue"`) or its source's share was full. */
  "intake:refused": { source: string; full: "queue" | "source"; entries: number; bytes: number };
  /** A queued delivery was stored as tickets (or found to carry none); depth is read separately. */
  "intake:processed": { entryId: number; source: string; tickets: number };
  /** A queued delivery could not be parsed into tickets and was dropped (it was acknowledged). */
  "intake:failed": { entryId: number; source: string; code: string };
  /** A CSV import made progress (running counts of rows). */
  "import:progressed": { rows: number; imported: number; deduplicated: number; rejected: number };
  /**
   * A durable CSV import a previous process left unfinished (SIGKILL) was finished at start: the
   * counts of the chunks stored now, the rows the whole file had, and its bad rows (all of them,
   * up to the import's `maxErrors`).
   */
  "import:resumed": {
    importId: string;
    rows: number;
    imported: number;
    deduplicated: number;
    rejected: number;
    errors: { row: number; line: number; reason: string }[];
    errorsTruncated: boolean;
  };
  /** A CSV import ended, with its final counts. */
  "import:finished": { rows: number; imported: number; deduplicated: number; rejected: number };
  /** A runbook version was stored. */
  "runbook:created": { runbookId: number; key: string; revision: number; status: string };
  /** A runbook version was approved by `actor`: it may now auto-execute. */
  "runbook:approved": { runbookId: number; key: string; actor: string };
  /** A runbook version was retired by `actor`: it no longer matches tickets. */
  "runbook:retired": { runbookId: number; key: string; actor: string };
  /** Storm control: a runbook's breaker opened after consecutive failures; auto-execution of it waits. */
  "runbook:auto-execution-paused": { key: string; failures: number; until: string | null };
  /** A person closed a runbook's breaker by hand (or it was reset): auto-execution goes on. */
  "runbook:auto-execution-resumed": { key: string; actor: string };
  /** An execution session was created for a ticket (a dry run or for real). */
  "session:created": { sessionId: number; ticketId: number; runbookId: number; dryRun: boolean };
  /** A session changed status or phase. */
  "session:updated": { sessionId: number; ticketId: number; status: SessionStatus; phase: string };
  /** A session ended in a final status; `error` says why when it did not succeed. */
  "session:finished": { sessionId: number; ticketId: number; status: SessionStatus; error: string | null };
  /** A step attempt started (`attempt` counts from 1). */
  "step:started": { sessionId: number; stepId: number; name: string; phase: string; attempt: number };
  /** A chunk of a running step's output, already redacted. */
  "step:output": { sessionId: number; stepId: number; stream: "stdout" | "stderr"; chunk: string };
  /** A step attempt ended, with its status, exit code and duration. */
  "step:finished": {
    sessionId: number;
    stepId: number;
    name: string;
    status: StepStatus;
    exitCode: number | null;
    durationMs: number;
  };
  /** A step waits for approval: an approval request was opened. */
  "approval:requested": {
    approvalId: number;
    sessionId: number;
    stepId: number;
    ticketId: number;
    risk: string;
  };
  /** An approval was decided (approved, rejected) or closed by the engine (expired, void). */
  "approval:decided": { approvalId: number; sessionId: number; status: string; actor: string };
  /** A credential was created, updated, rotated or deleted. */
  "credential:changed": { credentialId: number; change: "created" | "updated" | "rotated" | "deleted" };
  /** A connection was created, updated or deleted. */
  "connection:changed": { connectionId: number; change: "created" | "updated" | "deleted" };
  /** A connection's health check ran (`status`: `healthy` or `unhealthy`). */
  "connection:checked": { connectionId: number; status: string; latencyMs: number | null };
  /** Ticket sync delivered an outbox item (a work note, a state change) to its ticketing target. */
  "outbox:delivered": { itemId: number; ticketId: number; target: string; kind: string };
  /** Ticket sync gave up on an outbox item (non-retryable error, or out of attempts). */
  "outbox:dead-lettered": {
    itemId: number;
    ticketId: number;
    target: string;
    kind: string;
    attempts: number;
    error: string;
  };
}

/** The name of an engine event, e.g. `step:finished`. */
export type EngineEventName = keyof EngineEventMap;

/** eventemitter3 typed with the map: each listener receives the one payload object. */
export type EngineEvents = EventEmitter<{ [K in EngineEventName]: (payload: EngineEventMap[K]) => void }>;

/**
 * Creates an empty typed event bus (the engine makes its own; hosts and tests can make one to pass
 * in).
 */
export function createEventBus(): EngineEvents {
  return new EventEmitter() as EngineEvents;
}
