import { lineEnd } from "./shared.js";
import type { Rule } from "./types.js";

/** `runbook/missing-main`: no main steps. */
export const missingMain: Rule = {
  id: "runbook/missing-main",
  severity: "error",
  check({ doc, report }) {
    if (doc.steps.some((s) => s.phase === "main")) return;
    if (doc.mainSection !== undefined) {
      report(
        `"${doc.mainSection.heading}" has no steps: add at least one, such as - \`restart_db_service.sh\``,
        doc.mainSection.offset,
        lineEnd(doc.source.text, doc.mainSection.offset),
      );
    } else {
      report(
        'the runbook has no main steps: add a "## Main Steps" section with at least one step, such as - `restart_db_service.sh`',
        doc.title !== undefined ? doc.titleOffset : doc.firstContentOffset,
      );
    }
  },
};
