import { stringify } from "yaml";
import { formatDuration } from "./annotations.js";
import { toFrontMatter } from "./front-matter.js";
import { deriveStepName } from "./internal/names.js";
import { defaultStepSeverity, phaseNames, type Runbook, type Step } from "./schema.js";
import { phaseHeadings } from "./sections.js";

/**
 * Writes a runbook in its canonical Markdown form: front matter when there is metadata, `# Title`,
 * the description, `## Prechecks` / `## Main Steps` / `## Postchecks` / `## Rollback` (empty ones
 * left out), then the notes. A single-line `sh` command is a list item with inline code; any other
 * command is a fenced block with `{key=value}` attributes. Annotations equal to their default are
 * left out, except `requires_approval: true`, which is always written.
 *
 * For a valid runbook `r`, `parseRunbook(formatRunbook(r)).runbook` equals `r` except for step
 * positions (which are where the steps now stand in the new text).
 */
export function formatRunbook(runbook: Runbook): string {
  const blocks: string[] = [];
  const frontMatter = toFrontMatter(runbook.metadata);
  if (Object.keys(frontMatter).length > 0) {
    blocks.push(`---\n${stringify(frontMatter, { lineWidth: 0 }).trimEnd()}\n---`);
  }
  blocks.push(`# ${escapeHeading(runbook.title)}`);
  if (runbook.description !== undefined) blocks.push(runbook.description);
  for (const phase of phaseNames) {
    const steps = runbook.phases[phase];
    if (steps.length === 0) continue;
    blocks.push(`## ${phaseHeadings[phase]}`);
    let list = "";
    for (const step of steps) {
      if (isInline(step)) {
        const item = formatListItem(step);
        list = list.length === 0 ? item : `${list}\n${item}`;
        if (step.description !== undefined) list += "\n";
        continue;
      }
      if (list.length > 0) blocks.push(list.trimEnd());
      list = "";
      blocks.push(formatFence(step));
      if (step.description !== undefined) blocks.push(step.description);
    }
    if (list.length > 0) blocks.push(list.trimEnd());
  }
  for (const note of runbook.notes) {
    blocks.push(`## ${escapeHeading(note.heading)}`);
    if (note.text.length > 0) blocks.push(note.text);
  }
  return `${blocks.join("\n\n")}\n`;
}

function isInline(step: Step): boolean {
  return (
    step.language === "sh" &&
    step.languageDeclared !== true &&
    !/[\n`]/.test(step.command) &&
    step.command === step.command.trim()
  );
}

function formatListItem(step: Step): string {
  const annotations = annotationPairs(step, false);
  const list = annotations.length > 0 ? ` (${annotations.map(([k, v]) => `${k}: ${v}`).join(", ")})` : "";
  const item = `- \`${step.command}\`${list}`;
  if (step.description === undefined) return item;
  const indented = step.description
    .split("\n")
    .map((line) => (line.length > 0 ? `  ${line}` : line))
    .join("\n");
  return `${item}\n\n${indented}`;
}

function formatFence(step: Step): string {
  const annotations = annotationPairs(step, true);
  const attrs = annotations.length > 0 ? ` {${annotations.map(([k, v]) => `${k}=${v}`).join(" ")}}` : "";
  // A defaulted language stays unwritten, so the step keeps following its connection's language.
  const defaulted = step.language === "sh" && step.languageDeclared !== true;
  const info = defaulted ? attrs.trimStart() : `${step.language}${attrs}`;
  const longest = Math.max(0, ...(step.command.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${step.command}\n${fence}`;
}

/** The annotations that differ from their defaults, in a fixed order, values quoted where needed. */
function annotationPairs(step: Step, fence: boolean): [string, string][] {
  const pairs: [string, string][] = [];
  const add = (key: string, value: string | number | boolean) => pairs.push([key, formatValue(value, fence)]);
  if (step.name !== deriveStepName(step.command)) add("name", step.name);
  if (step.severity !== defaultStepSeverity) add("severity", step.severity);
  if (step.requiresApproval) add("requires_approval", true);
  if (step.timeoutMs !== undefined) add("timeout", formatDuration(step.timeoutMs));
  if (step.retries !== 0) add("retries", step.retries);
  if (step.connection !== undefined) add("connection", step.connection);
  if (step.expect?.exitCode !== undefined) add("expect_exit_code", step.expect.exitCode);
  if (step.expect?.output !== undefined) add("expect_output", step.expect.output);
  if (step.onFailure !== "abort") add("on_failure", step.onFailure);
  if (step.idempotent) add("idempotent", true);
  if (step.compensate !== undefined) add("compensate", step.compensate.command);
  return pairs;
}

function formatValue(value: string | number | boolean, fence: boolean): string {
  if (typeof value !== "string") return String(value);
  if (/^[A-Za-z0-9_./@+-]+$/.test(value)) return value;
  const quoted = JSON.stringify(value);
  // A fence's info string ends at the line: keep it free of the fence character by escaping it.
  return fence ? quoted.replace(/`/g, "\\u0060") : quoted;
}

/** Escapes what would otherwise be read as Markdown inside a heading. */
function escapeHeading(text: string): string {
  return text.replace(/[\\`*_[\]<>&#!|~]/g, "\\$&");
}
