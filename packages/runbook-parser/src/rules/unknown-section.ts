import { nearestPhase } from "../sections.js";
import type { Rule } from "./types.js";

/** `runbook/unknown-section`: a heading that looks like a misspelt phase (`## Precheks`); it is kept as a note. */
export const unknownSection: Rule = {
  id: "runbook/unknown-section",
  severity: "warning",
  check({ doc, report }) {
    for (const heading of doc.headings) {
      if (heading.phase !== undefined || heading.text.length === 0) continue;
      const near = nearestPhase(heading.text);
      if (near === undefined) continue;
      report(
        `"${heading.text}" is not a runbook section, so its content is kept as a note and runs nothing (did you mean "${near.heading}"?)`,
        heading.start,
        heading.end,
      );
    }
  },
};
