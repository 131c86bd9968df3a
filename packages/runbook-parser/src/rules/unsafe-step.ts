import { defaultStepSeverity } from "../schema.js";
import type { Rule } from "./types.js";

/** `runbook/unsafe-step`: a `high_risk` step that says `requires_approval: false`. */
export const unsafeStep: Rule = {
  id: "runbook/unsafe-step",
  severity: "error",
  check({ doc, report }) {
    for (const step of doc.steps) {
      const severity = step.values.severity ?? defaultStepSeverity;
      if (severity !== "high_risk" || step.values.requiresApproval !== false) continue;
      const range = step.ranges.requires_approval ?? { start: step.offset, end: step.offset };
      report(
        "a high_risk step must require approval: remove requires_approval: false, or lower the severity if the step is not high risk",
        range.start,
        range.end,
      );
    }
  },
};
