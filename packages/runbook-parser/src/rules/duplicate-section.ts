import type { PhaseName } from "../schema.js";
import { phaseHeadings } from "../sections.js";
import type { Rule } from "./types.js";

/** `runbook/duplicate-section`: a phase heading used twice; its steps are added to the first. */
export const duplicateSection: Rule = {
  id: "runbook/duplicate-section",
  severity: "warning",
  check({ doc, report }) {
    const seen = new Map<PhaseName, number>();
    for (const heading of doc.headings) {
      if (heading.phase === undefined) continue;
      const first = seen.get(heading.phase);
      if (first === undefined) {
        seen.set(heading.phase, heading.start);
        continue;
      }
      report(
        `a second "${heading.text}" section: its steps are added to ${phaseHeadings[heading.phase]} (line ${doc.source.point(first).line}); merge the two sections`,
        heading.start,
        heading.end,
      );
    }
  },
};
