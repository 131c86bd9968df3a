import { lineEnd } from "./shared.js";
import type { Rule } from "./types.js";

/** `runbook/missing-command`: a list item in a phase with no command, or a step whose command is empty. */
export const missingCommand: Rule = {
  id: "runbook/missing-command",
  severity: "error",
  check({ doc, report }) {
    for (const item of doc.commandlessItems) {
      const shown = item.excerpt.length > 40 ? `${item.excerpt.slice(0, 40)}…` : item.excerpt;
      report(
        `${shown ? `"${shown}" ` : "this list item "}is a step with no command: start it with the command in backticks (- \`systemctl restart nginx\`) or put the command in a fenced code block; move prose to a step's description or a note section`,
        item.start,
        item.end,
      );
    }
    for (const step of doc.steps) {
      if (step.command.length > 0) continue;
      report(
        "this step's command is empty: write the command to run between the backticks or inside the fence",
        step.offset,
        lineEnd(doc.source.text, step.offset),
      );
    }
  },
};
