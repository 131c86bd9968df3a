import type { Rule } from "./types.js";

/** `runbook/missing-title`: no level-1 heading. */
export const missingTitle: Rule = {
  id: "runbook/missing-title",
  severity: "error",
  check({ doc, report }) {
    if (doc.title !== undefined) return;
    report(
      'the runbook has no title: start it with a level-1 heading that says what it fixes, such as "# Fix Database Connection"',
      doc.firstContentOffset,
    );
  },
};
