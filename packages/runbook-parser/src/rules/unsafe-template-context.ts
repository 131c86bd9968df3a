import { tokenizeTemplate } from "../templates.js";
import { compensateBase, unsafePlaceholders } from "./shared.js";
import type { Rule } from "./types.js";

/**
 * `runbook/unsafe-template-context`: a placeholder in a shell, PowerShell or cmd command (or its
 * `compensate`) that sits where a ticket value would not be one inert word (see shell-context.ts,
 * windows-context.ts). Checked where the step's language is certain: shell as shell-context.ts
 * decides (`lintAsShell`), PowerShell and cmd when the fence or `language` annotation declares
 * them; elsewhere the renderer applies the same check at run time.
 */
export const unsafeTemplateContext: Rule = {
  id: "runbook/unsafe-template-context",
  severity: "error",
  check({ doc, report }) {
    const text = doc.source.text;
    for (const step of doc.steps) {
      const language = step.lintAsShell
        ? "sh"
        : step.languageDeclared && (step.language === "powershell" || step.language === "cmd")
          ? step.language
          : undefined;
      if (language === undefined) continue;
      if (step.command.includes("{{")) {
        const { start, end } = step.templateRange;
        // Placeholders of the command, in order, are the references of its raw source, in order.
        const refs = tokenizeTemplate(text.slice(start, end)).tokens.filter((t) => t.type === "reference");
        unsafePlaceholders(
          step.command,
          (k) => {
            const ref = refs[k];
            return ref === undefined ? { start, end } : { start: start + ref.start, end: start + ref.end };
          },
          (message, range) => report(message, range.start, range.end),
          language,
        );
      }
      const command = step.compensate?.command;
      if (command === undefined || !command.includes("{{")) continue;
      const base = compensateBase(doc, step);
      const fallback = step.valueRanges.compensate ?? step.ranges.compensate ?? { start: 0, end: 0 };
      const refs = tokenizeTemplate(command).tokens.filter((t) => t.type === "reference");
      unsafePlaceholders(
        command,
        (k) => {
          const ref = refs[k];
          return base !== undefined && ref !== undefined
            ? { start: base + ref.start, end: base + ref.end }
            : fallback;
        },
        (message, range) => report(`compensate: ${message}`, range.start, range.end),
        language,
      );
    }
  },
};
