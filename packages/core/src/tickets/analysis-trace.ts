/**
 * The analysis trace on demand: a stored ticket keeps what is shown (candidates with their
 * reasons, the decision), not the stage-by-stage trace. `analysisTrace` recomputes it by running
 * the analyzer again over the stored ticket, at the time it was analyzed, with the fingerprint and
 * the normalize notes it was stored with: the same runbooks, policy and stages give the same trace.
 * A ticket stored with its trace (before traces were recomputed) answers with that one.
 */
import type { Analyzer } from "../analyzer/index.js";
import type { Analysis } from "../domain.js";
import { storedSubject } from "./intake.js";
import type { TicketQueries } from "./queries.js";
import type { AnalysisTraceResult, TicketsApi } from "./types.js";

/** The parts of an analysis that are shown: a recomputation that agrees on them reproduced it. */
function shown(analysis: Analysis): string {
  const { category, entities, candidates, decision } = analysis;
  return JSON.stringify({ category, entities, candidates, decision });
}

/** Creates `analysisTrace`. */
export function createAnalysisTrace(deps: {
  analyzer: Analyzer;
  queries: Pick<TicketQueries, "get">;
}): TicketsApi["analysisTrace"] {
  return async function analysisTrace(id): Promise<AnalysisTraceResult> {
    const ticket = await deps.queries.get(id);
    const stored = ticket.analysis;
    if (!stored) return { ticketId: id, origin: "none", matchesStored: true, analyzedAt: null, trace: [] };
    if (stored.trace) {
      return {
        ticketId: id,
        origin: "stored",
        matchesStored: true,
        analyzedAt: stored.analyzedAt,
        trace: stored.trace,
      };
    }
    const { analysis } = await deps.analyzer.analyze(storedSubject(ticket), {
      fingerprint: ticket.fingerprint,
      normalizeNotes: stored.normalized ?? [],
      analyzedAt: stored.analyzedAt,
    });
    return {
      ticketId: id,
      origin: "recomputed",
      matchesStored: shown(analysis) === shown(stored),
      analyzedAt: stored.analyzedAt,
      trace: analysis.trace,
    };
  };
}
