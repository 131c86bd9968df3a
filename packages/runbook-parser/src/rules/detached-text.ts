import type { Rule } from "./types.js";

/** `runbook/detached-text`: text in a phase before its first step; it describes nothing. */
export const detachedText: Rule = {
  id: "runbook/detached-text",
  severity: "warning",
  check({ doc, report }) {
    for (const text of doc.detachedTexts) {
      report(
        `text before the first step of "${text.heading}" describes no step and is ignored: move it below the step it describes, or under its own heading`,
        text.start,
        text.end,
      );
    }
  },
};
