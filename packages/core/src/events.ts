/**
 * The engine's typed event bus. Every arrow of the flow is an event, so an embedding service, the
 * HTTP adapter's live stream and the dashboard all observe the same facts. Names are
 * `noun:past-verb`; payloads are plain and serialisable, and never carry secrets.
 */
import { EventEmitter } from "eventemitter3";
import type { Decision, SessionStatus, StepStatus, TicketStatus } from "./domain.js";

export interface EngineEventMap {
  "ticket:ingested": { ticketId: number; source: string; deduplicated: boolean; occurrences: number };
  "ticket:analyzed": { ticketId: number; category: string; decision: Decision };
  "ticket:updated": { ticketId: number; status: TicketStatus; reason: string | null };
  /** A webhook delivery is durable in the intake queue (acknowledged); depth after it. */
  "intake:queued": { entryId: number; source: string; entries: number; bytes: number };
  /** A webhook delivery was refused because the queue (`full: "queue"`) or its source's share was full. */
  "intake:refused": { source: string; full: "queue" | "source"; entries: number; bytes: number };
  /** A queued delivery was stored as tickets (or found to carry none); depth is read separately. */
  "intake:processed": { entryId: number; source: string; tickets: number };
  /** A queued delivery could not be parsed into tickets and was dropped (it was acknowledged). */
  "intake:failed": { entryId: number; source: string; code: string };
  "import:progressed": { rows: number; imported: number; deduplicated: number; rejected: number };
  "import:finished": { rows: number; imported: number; deduplicated: number; rejected: number };
  "runbook:created": { runbookId: number; key: string; revision: number; status: string };
  "runbook:approved": { runbookId: number; key: string; actor: string };
  "runbook:retired": { runbookId: number; key: string; actor: string };
  /** Storm control: a runbook's breaker opened after consecutive failures; auto-execution of it waits. */
  "runbook:auto-execution-paused": { key: string; failures: number; until: string | null };
  /** A person closed a runbook's breaker by hand (or it was reset): auto-execution goes on. */
  "runbook:auto-execution-resumed": { key: string; actor: string };
  "session:created": { sessionId: number; ticketId: number; runbookId: number; dryRun: boolean };
  "session:updated": { sessionId: number; ticketId: number; status: SessionStatus; phase: string };
  "session:finished": { sessionId: number; ticketId: number; status: SessionStatus; error: string | null };
  "step:started": { sessionId: number; stepId: number; name: string; phase: string; attempt: number };
  "step:output": { sessionId: number; stepId: number; stream: "stdout" | "stderr"; chunk: string };
  "step:finished": {
    sessionId: number;
    stepId: number;
    name: string;
    status: StepStatus;
    exitCode: number | null;
    durationMs: number;
  };
  "approval:requested": {
    approvalId: number;
    sessionId: number;
    stepId: number;
    ticketId: number;
    risk: string;
  };
  "approval:decided": { approvalId: number; sessionId: number; status: string; actor: string };
  "credential:changed": { credentialId: number; change: "created" | "updated" | "rotated" | "deleted" };
  "connection:changed": { connectionId: number; change: "created" | "updated" | "deleted" };
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

export type EngineEventName = keyof EngineEventMap;

/** eventemitter3 typed with the map: each listener receives the one payload object. */
export type EngineEvents = EventEmitter<{ [K in EngineEventName]: (payload: EngineEventMap[K]) => void }>;

export function createEventBus(): EngineEvents {
  return new EventEmitter() as EngineEvents;
}
