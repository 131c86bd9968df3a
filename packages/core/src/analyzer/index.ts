/**
 * The analyzer: a pipeline of stages (normalize → extract → fingerprint → categorize → match →
 * decide) over one ticket, each leaving a trace entry. A host appends its own stages or replaces
 * the list (`createEngine({ analyzer: { stages } })`).
 */
import type { Analysis, AnalysisTraceEntry, Decision } from "../domain.js";
import { rwError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import type { RunbooksApi } from "../runbooks.js";
import { categorizeStage } from "./categorize.js";
import { decideStage } from "./decide.js";
import { extractStage } from "./entities.js";
import { fingerprintStage, ticketFingerprint } from "./fingerprint.js";
import { matchStage } from "./match.js";
import { normalizeStage } from "./normalize.js";
import type { AnalysisState, AnalysisSubject, AnalyzerStage, StageContext } from "./stage.js";

export type { AnalysisData, AnalysisState, AnalysisSubject, AnalyzerStage, StageContext } from "./stage.js";
export { defineAnalyzerStage } from "./stage.js";

/** The built-in stages, in order. */
export const builtInStages: readonly AnalyzerStage[] = Object.freeze([
  normalizeStage,
  extractStage,
  fingerprintStage,
  categorizeStage,
  matchStage,
  decideStage,
]);

export interface AnalyzerOptions {
  runbooks: RunbooksApi;
  /** Stages added after the built-in ones, or a function that returns the whole list. */
  stages?: AnalyzerStage[] | ((builtIn: AnalyzerStage[]) => AnalyzerStage[]) | undefined;
}

/** What {@link Analyzer.analyze} returns for one subject. */
export interface AnalysisOutcome {
  /** The ticket's fields after normalization: what is stored. */
  ticket: AnalysisSubject;
  /**
   * The ticket's fingerprint (the source's, or one derived from its normalized fields): repeats of
   * it fold into one ticket.
   */
  fingerprint: string;
  /** The analysis with its full trace (intake stores it without the trace). */
  analysis: Analysis & { trace: AnalysisTraceEntry[] };
}

/** What `identify` found: the normalized ticket, its fingerprint and the normalize stage's notes. */
export interface Identity {
  ticket: AnalysisSubject;
  fingerprint: string;
  normalizeNotes: string[];
}

/**
 * What the caller already knows of a subject. `fingerprint`: not hashed again. `normalizeNotes`:
 * the subject is `identify`'s normalized ticket, so the built-in normalize stage is not run again
 * (its notes are traced as they were). `analyzedAt`: the time the analysis is for (the stages'
 * `now()` and the result's `analyzedAt`), so recomputing a stored analysis reproduces it.
 */
export interface KnownIdentity {
  fingerprint?: string;
  normalizeNotes?: readonly string[];
  analyzedAt?: string;
}

/**
 * The analysis pipeline: built-in stages (normalize, extract entities, fingerprint, categorize,
 * match, decide) plus the host's.
 */
export interface Analyzer {
  /** The stages in the order they run. */
  readonly stages: readonly AnalyzerStage[];
  /**
   * Runs every stage over a copy of the subject. A failing host stage is traced, not thrown.
   * `known.fingerprint`: the fingerprint `identify` already computed for this subject, so it is
   * not hashed twice.
   */
  analyze(subject: AnalysisSubject, known?: KnownIdentity): Promise<AnalysisOutcome>;
  /** Normalizes and fingerprints only: how a resolved alert finds the ticket it closes. */
  identify(subject: AnalysisSubject): Identity;
}

export function createAnalyzer(
  ctx: Pick<EngineContext, "logger" | "clock" | "policy">,
  options: AnalyzerOptions,
): Analyzer {
  const log = ctx.logger.child({ component: "analyzer" });
  const stages =
    typeof options.stages === "function"
      ? options.stages([...builtInStages])
      : [...builtInStages, ...(options.stages ?? [])];
  const names = new Set<string>();
  for (const stage of stages) {
    if (typeof stage?.name !== "string" || typeof stage.run !== "function") {
      throw rwError("RW_ERR_CONFIG_INVALID", "every analyzer stage needs a `name` and a `run` function", {
        details: { issues: [{ path: "analyzer.stages", message: "a stage is not { name, run }" }] },
      });
    }
    if (names.has(stage.name)) {
      throw rwError("RW_ERR_CONFIG_INVALID", `two analyzer stages are named "${stage.name}"`, {
        details: { issues: [{ path: "analyzer.stages", message: `duplicate stage name "${stage.name}"` }] },
      });
    }
    names.add(stage.name);
  }
  const now = () => new Date(ctx.clock.now());
  // Tickets analyzed in the same millisecond share one timestamp string (formatted once).
  let lastMs = Number.NaN;
  let lastIso = "";
  const iso = (date: Date) => {
    const ms = date.getTime();
    if (ms !== lastMs) {
      lastIso = date.toISOString();
      lastMs = ms;
    }
    return lastIso;
  };

  return {
    stages: Object.freeze([...stages]),
    async analyze(subject, known) {
      const at = known?.analyzedAt;
      const when = at === undefined ? now : () => new Date(at);
      const state: AnalysisState = {
        ticket: { ...subject },
        entities: { hosts: [], ips: [], services: [], errorCodes: [], urls: [] },
        fingerprint: known?.fingerprint ?? "",
        category: "other",
        matches: [],
        decision: null,
        data: {},
      };
      const trace: AnalysisTraceEntry[] = [];
      for (const stage of stages) {
        if (stage === normalizeStage && known?.normalizeNotes) {
          trace.push({ stage: stage.name, notes: [...known.normalizeNotes] });
          continue;
        }
        const notes: string[] = [];
        const stageContext: StageContext = {
          note: (text) => notes.push(text),
          policy: ctx.policy,
          runbooks: options.runbooks,
          now: when,
        };
        try {
          const result = stage.run(state, stageContext);
          if (result !== undefined) await result;
        } catch (err) {
          notes.push(`failed: ${err instanceof Error ? err.message : String(err)}`);
          log.warn({ stage: stage.name, err }, "analyzer stage failed");
        }
        trace.push({ stage: stage.name, notes });
      }
      const fingerprint = state.fingerprint || ticketFingerprint(state.ticket);
      const decision: Decision = state.decision ?? { action: "none", reason: "no stage decided" };
      return {
        ticket: state.ticket,
        fingerprint,
        analysis: {
          category: state.category,
          entities: state.entities,
          candidates: state.matches.map((m) => m.candidate),
          decision,
          trace,
          analyzedAt: iso(when()),
        },
      };
    },
    identify(subject) {
      const ticket = { ...subject };
      const normalizeNotes: string[] = [];
      normalizeStage.run(
        {
          ticket,
          entities: { hosts: [], ips: [], services: [], errorCodes: [], urls: [] },
          fingerprint: "",
          category: "other",
          matches: [],
          decision: null,
          data: {},
        },
        { note: (text) => normalizeNotes.push(text), policy: ctx.policy, runbooks: options.runbooks, now },
      );
      return { ticket, fingerprint: ticketFingerprint(ticket), normalizeNotes };
    },
  };
}

export { type Category, categories, categorize } from "./categorize.js";
export { extractEntities } from "./entities.js";
export { computeFingerprint } from "./fingerprint.js";
export type { MatchQuery, RunbookMatch } from "./match-index.js";
export { normalizeEnvironment, normalizeSeverity } from "./normalize.js";
