import { tokenizeTemplate } from "../templates.js";
import { compensateBase } from "./shared.js";
import type { Rule } from "./types.js";

/** `runbook/invalid-template`: a `{{` in a command or a `compensate` that is not closed on its line, empty, or not a dotted name. */
export const invalidTemplate: Rule = {
  id: "runbook/invalid-template",
  severity: "error",
  check({ doc, report }) {
    for (const step of doc.steps) {
      const { start, end } = step.templateRange;
      const raw = doc.source.text.slice(start, end);
      if (raw.includes("{{")) {
        for (const problem of tokenizeTemplate(raw).problems)
          report(problem.message, start + problem.start, start + problem.end);
      }
      const command = step.compensate?.command;
      const valueRange = step.valueRanges.compensate;
      if (command === undefined || valueRange === undefined || !command.includes("{{")) continue;
      const base = compensateBase(doc, step);
      for (const problem of tokenizeTemplate(command).problems) {
        report(
          `compensate: ${problem.message}`,
          base === undefined ? valueRange.start : base + problem.start,
          base === undefined ? valueRange.end : base + problem.end,
        );
      }
    }
  },
};
