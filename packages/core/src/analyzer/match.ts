/**
 * match: ranks runbooks for the ticket with the runbook index (see match-index.ts): filtered by
 * each runbook's `match` block, scored in [0,1], each candidate with the reasons for its score.
 */
import type { AnalyzerStage } from "./stage.js";

export const matchStage: AnalyzerStage = {
  name: "match",
  async run(state, { note, runbooks }) {
    const t = state.ticket;
    state.matches = await runbooks.match({
      title: t.title,
      description: t.description,
      service: t.service,
      environment: t.environment,
      severity: t.severity,
      source: t.source,
    });
    const best = state.matches[0];
    note(
      best
        ? `${state.matches.length} candidate${state.matches.length === 1 ? "" : "s"}; best "${best.candidate.runbookKey}" r${best.candidate.runbookVersion} scored ${best.candidate.score}`
        : "no runbook matched",
    );
  },
};
