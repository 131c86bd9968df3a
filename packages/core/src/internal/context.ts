/**
 * What every part of the engine shares. Built once by createEngine; never exported from the
 * package.
 */
import type { Logger } from "pino";
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
}
