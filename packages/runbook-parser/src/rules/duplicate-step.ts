import type { Rule, StepDraft } from "./types.js";

/** `runbook/duplicate-step`: two steps with the same explicit `name`. */
export const duplicateStep: Rule = {
  id: "runbook/duplicate-step",
  severity: "error",
  check({ doc, report }) {
    const firstByName = new Map<string, StepDraft>();
    for (const step of doc.steps) {
      const name = step.values.name;
      if (name === undefined) continue;
      const first = firstByName.get(name);
      if (first === undefined) {
        firstByName.set(name, step);
        continue;
      }
      const range = step.ranges.name ?? { start: step.offset, end: step.offset };
      report(
        `step name "${name}" is already used by the step at line ${first.position.line}: give each step a unique name`,
        range.start,
        range.end,
      );
    }
  },
};
