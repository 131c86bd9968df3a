import type { Rule } from "./types.js";

/** `runbook/ignored-compensation`: `compensate` on a precheck or a rollback step, which are never compensated. */
export const ignoredCompensation: Rule = {
  id: "runbook/ignored-compensation",
  severity: "warning",
  check({ doc, report }) {
    for (const step of doc.steps) {
      if (step.compensate === undefined) continue;
      if (step.phase !== "prechecks" && step.phase !== "rollback") continue;
      const range = step.ranges.compensate ?? step.valueRanges.compensate ?? { start: 0, end: 0 };
      report(
        step.phase === "prechecks"
          ? "prechecks change nothing, so a precheck is never compensated: remove compensate, or move the step to the main steps"
          : "a rollback step is never compensated (a failing rollback step fails the session): remove compensate",
        range.start,
        range.end,
      );
    }
  },
};
