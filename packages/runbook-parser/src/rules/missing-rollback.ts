import type { Rule } from "./types.js";

/** `runbook/missing-rollback`: `on_failure: rollback` with no rollback steps and no `compensate`. */
export const missingRollback: Rule = {
  id: "runbook/missing-rollback",
  severity: "warning",
  check({ doc, report }) {
    // Compensations of main steps and postchecks are a rollback too.
    const hasRollback = doc.steps.some(
      (s) =>
        s.phase === "rollback" ||
        (s.compensate !== undefined && (s.phase === "main" || s.phase === "postchecks")),
    );
    if (hasRollback) return;
    for (const step of doc.steps) {
      if (step.values.onFailure !== "rollback") continue;
      const range = step.ranges.on_failure ?? { start: step.offset, end: step.offset };
      report(
        'on_failure: rollback, but the runbook has no rollback steps: add a "## Rollback" section, or use on_failure: abort',
        range.start,
        range.end,
      );
    }
  },
};
