import { analyzeShellTemplate } from "../shell-context.js";
import { analyzeCmdTemplate, analyzePowerShellTemplate } from "../windows-context.js";
import type { Range, RunbookDocument, StepDraft } from "./types.js";

/** Helpers more than one rule uses. */

/** The end of the line `from` is on. */
export function lineEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && text[i] !== "\n" && text[i] !== "\r") i++;
  return i;
}

/**
 * The source offset of a `compensate` command's first character, when the value is written
 * plainly or in quotes without escapes (so template offsets in it are exact); else undefined.
 */
export function compensateBase(doc: RunbookDocument, step: StepDraft): number | undefined {
  const valueRange = step.valueRanges.compensate;
  const command = step.compensate?.command;
  if (valueRange === undefined || command === undefined) return undefined;
  const raw = doc.source.text.slice(valueRange.start, valueRange.end);
  if (raw === command) return valueRange.start;
  return /^["']/.test(raw) && raw.slice(1, -1) === command ? valueRange.start + 1 : undefined;
}

/**
 * Calls `report` for every placeholder of a shell, PowerShell or cmd command that sits where a
 * ticket value cannot be proven one inert word (see shell-context.ts, windows-context.ts). `at(k)` gives the range of the k-th placeholder.
 */
export function unsafePlaceholders(
  command: string,
  at: (k: number) => Range,
  report: (message: string, range: Range) => void,
  language: "sh" | "powershell" | "cmd" = "sh",
): void {
  const analysis =
    language === "powershell"
      ? analyzePowerShellTemplate(command)
      : language === "cmd"
        ? analyzeCmdTemplate(command)
        : analyzeShellTemplate(command);
  analysis.placeholders.forEach((p, k) => {
    if (!p.allowed) report(`${p.message}`, at(k));
  });
}
