/**
 * The analyzer's stage contract: a stage is a named function over a shared, typed state. A host
 * adds its own (an LLM classifier, a CMDB lookup) or replaces the built-in ones.
 */
import type { Decision, Entities, RunbookCandidate, TicketSeverity } from "../domain.js";
import type { Policy } from "../policy.js";
import type { RunbookMatch, RunbooksApi } from "../runbooks.js";

/** The ticket fields the analyzer reads and may normalize. */
export interface AnalysisSubject {
  /** The ticket's title. */
  title: string;
  /** The ticket's description. */
  description: string;
  /** The normalized severity. */
  severity: TicketSeverity;
  /** The normalized environment (`production`, `staging`, …). */
  environment: string;
  /** The service the ticket is about. */
  service: string;
  /** Where the ticket came from (`alertmanager`, `csv`, …). */
  source: string;
  /** The source's id of the alert, if any. */
  externalId: string | null;
  /** The fingerprint the source gave, if any. */
  sourceFingerprint: string | null;
  /** The source's extra fields, as JSON. */
  metaData: Record<string, unknown>;
}

/**
 * Data host stages share, typed by augmenting this interface (as unified's `Data`):
 * `declare module "@runwarden/core" { interface AnalysisData { owner?: string } }`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: augmented by hosts
export interface AnalysisData {}

/** What the stages build, in order. Each stage reads and writes it. */
export interface AnalysisState {
  /** The ticket being analyzed; stages read it, the normalize stage replaces it. */
  readonly ticket: AnalysisSubject;
  /** What the entity stage found in the ticket's text. */
  entities: Entities;
  /** Empty until the fingerprint stage sets it. */
  fingerprint: string;
  /** The category (see {@link categories}); empty until the categorize stage sets it. */
  category: string;
  /** Ranked best first; the decide stage reads the first. */
  matches: RunbookMatch[];
  /** What the engine will do; null until the decide stage sets it. */
  decision: Decision | null;
  /** Data host stages share (see {@link AnalysisData}). */
  data: AnalysisData;
}

/** What a stage receives besides the state. */
export interface StageContext {
  /** Adds a line to this stage's trace entry: what it did and why. */
  note(text: string): void;
  /** The engine's policy (thresholds). */
  readonly policy: Policy;
  /** The runbooks API, for stages that look runbooks up. */
  readonly runbooks: RunbooksApi;
  /** The engine's clock. */
  now(): Date;
}

/** One analyzer step. `run` may be async; built-in stages are synchronous where they can be. */
export interface AnalyzerStage {
  /** Shown in the analysis trace; unique within the pipeline. */
  readonly name: string;
  /** Does the stage's work on `state`; a throw from a host stage is traced, not fatal. */
  run(state: AnalysisState, ctx: StageContext): void | Promise<void>;
}

/** Shorthand for a host stage. */
export function defineAnalyzerStage(stage: AnalyzerStage): AnalyzerStage {
  return stage;
}

export type { RunbookCandidate };
