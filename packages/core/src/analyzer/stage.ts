/**
 * The analyzer's stage contract: a stage is a named function over a shared, typed state. A host
 * adds its own (an LLM classifier, a CMDB lookup) or replaces the built-in ones.
 */
import type { Decision, Entities, RunbookCandidate, TicketSeverity } from "../domain.js";
import type { Policy } from "../policy.js";
import type { RunbookMatch, RunbooksApi } from "../runbooks.js";

/** The ticket fields the analyzer reads and may normalize. */
export interface AnalysisSubject {
  title: string;
  description: string;
  severity: TicketSeverity;
  environment: string;
  service: string;
  source: string;
  externalId: string | null;
  /** The fingerprint the source gave, if any. */
  sourceFingerprint: string | null;
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
  readonly ticket: AnalysisSubject;
  entities: Entities;
  /** Empty until the fingerprint stage sets it. */
  fingerprint: string;
  category: string;
  /** Ranked best first; the decide stage reads the first. */
  matches: RunbookMatch[];
  decision: Decision | null;
  data: AnalysisData;
}

export interface StageContext {
  /** Adds a line to this stage's trace entry: what it did and why. */
  note(text: string): void;
  readonly policy: Policy;
  readonly runbooks: RunbooksApi;
  now(): Date;
}

/** One analyzer step. `run` may be async; built-in stages are synchronous where they can be. */
export interface AnalyzerStage {
  /** Shown in the analysis trace; unique within the pipeline. */
  readonly name: string;
  run(state: AnalysisState, ctx: StageContext): void | Promise<void>;
}

/** Shorthand for a host stage. */
export function defineAnalyzerStage(stage: AnalyzerStage): AnalyzerStage {
  return stage;
}

export type { RunbookCandidate };
