/**
 * What every part of the engine shares. Built once by createEngine; never exported from the
 * package.
 */
import type { Logger } from "pino";
import type { Ticket } from "../domain.js";
import type { EngineEvents } from "../events.js";
import type { Redactor } from "../executor/redaction.js";
import type { Clock, Policy } from "../policy.js";
import type { Storage } from "../storage.js";

export interface EngineContext {
  storage: Storage;
  events: EngineEvents;
  /** The engine's root logger; each part takes a child with `{ component }`. */
  logger: Logger;
  clock: Clock;
  policy: Policy;
  /** A unique id for this engine instance (lease owner). */
  instanceId: string;
  /** Aborted by engine.close(). */
  signal: AbortSignal;
  /**
   * The engine's own secrets (`createEngine({ redact })`, connector config fields marked
   * `secret()`): every session's redactor inherits them.
   */
  redactor: Redactor;
  /** ISO timestamp of the clock's now. */
  nowIso(): string;
  /**
   * Late-bound links between parts, set by the part that owns them, so that intake can start an
   * execution without importing the executor.
   */
  hooks: {
    /** Called after analysis decided `auto_execute`. */
    autoExecute?: (ticket: Ticket) => Promise<void>;
    /** Called when a source says a ticket's problem is over: cancel what waits on it. */
    ticketResolved?: (ticket: Ticket, reason: string) => Promise<void>;
  };
}
