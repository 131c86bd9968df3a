import { lineEnd } from "./shared.js";
import type { Rule } from "./types.js";

/** `runbook/empty-phase`: a Prechecks, Postchecks or Rollback heading with no steps. */
export const emptyPhase: Rule = {
  id: "runbook/empty-phase",
  severity: "warning",
  check({ doc, report }) {
    for (const empty of doc.emptyPhases) {
      report(
        `"${empty.heading}" has no steps: add steps or remove the heading`,
        empty.offset,
        lineEnd(doc.source.text, empty.offset),
      );
    }
  },
};
