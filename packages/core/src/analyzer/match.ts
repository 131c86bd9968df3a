/**
 * match: ranks runbooks for the ticket with the runbook index (see match-index.ts): filtered by
 * each runbook's `match` block, scored in [0,1], each candidate with the reasons for its score.
 * The string values of the ticket's metadata (labels, tags) count as naming technologies (see
 * technologies.ts), not as words to match on.
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
      labels: labelStrings(t.metaData),
    });
    const best = state.matches[0];
    note(
      best
        ? `${state.matches.length} candidate${state.matches.length === 1 ? "" : "s"}; best "${best.candidate.runbookKey}" r${best.candidate.runbookVersion} scored ${best.candidate.score}`
        : "no runbook matched",
    );
  },
};

/** Metadata keys never read for matching: connection settings are not evidence. */
const ignoredKeys: ReadonlySet<string> = new Set(["connection_config", "connectionConfig"]);
/** At most this many strings, of at most this length, are read from the metadata. */
const maxLabels = 64;
const maxLabelLength = 200;

/**
 * The short string values of metadata, two levels deep (`labels.service`, `tags[]`), and the keys
 * of its nested objects (a `persistentvolumeclaim` label names what the alert is about).
 */
function labelStrings(metaData: Record<string, unknown>): string[] {
  const out: string[] = [];
  const visit = (value: unknown, depth: number) => {
    if (out.length >= maxLabels) return;
    if (typeof value === "string") {
      if (value.length <= maxLabelLength) out.push(value);
    } else if (depth < 2 && Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1);
    } else if (depth < 2 && value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) {
        if (ignoredKeys.has(key)) continue;
        if (depth > 0) out.push(key);
        visit(item, depth + 1);
      }
    }
  };
  visit(metaData, 0);
  return out;
}
