import type { Root } from "mdast";
import { remark } from "remark";
import remarkFrontmatter from "remark-frontmatter";
import { RunbookInvalidError } from "./errors.js";
import { assignStepNames } from "./internal/names.js";
import { Reporter, Source } from "./internal/source.js";
import { rules } from "./rules/index.js";
import { runRules, type StepDraft } from "./rules/types.js";
import { type Diagnostic, defaultStepSeverity, type Runbook, type Step } from "./schema.js";
import { Walker } from "./walker.js";

/**
 * `parseRunbook`: remark parses the Markdown, the Walker (walker.ts) reads the tree into a
 * `RunbookDocument` (sections, steps, annotations), every rule in rules/ checks it, and the plan
 * is built when no diagnostic is an error. Annotations are read by annotations.ts with one file
 * per annotation under annotations/.
 */

export interface ParseOptions {
  /** Report every warning as an error, so a runbook with warnings does not load (a strict CI lint). */
  warningsAsErrors?: boolean;
}

/** What {@link parseRunbook} returns: the runbook when there is no error, and every diagnostic. */
export interface ParseResult {
  /** Present exactly when no diagnostic is an error. */
  runbook?: Runbook;
  /** Errors and warnings, sorted by line and column. */
  diagnostics: Diagnostic[];
}

const processor = remark().use(remarkFrontmatter, ["yaml"]).freeze();

/**
 * Parses a Markdown runbook. Never throws: every problem, including input that is not a string,
 * is a diagnostic with a line, a column and a rule id.
 *
 * @example
 * ```ts
 * const { runbook, diagnostics } = parseRunbook(markdown);
 * for (const d of diagnostics) console.error(`${d.line}:${d.column} ${d.ruleId} ${d.message}`);
 * if (runbook) console.log(runbook.phases.main.map((step) => step.command));
 * ```
 */
export function parseRunbook(markdown: string, options: ParseOptions = {}): ParseResult {
  if (typeof markdown !== "string") {
    return {
      diagnostics: [
        {
          severity: "error",
          ruleId: "runbook/invalid-input",
          message: `expected the runbook's Markdown as a string, got ${markdown === null ? "null" : typeof markdown}`,
          line: 1,
          column: 1,
        },
      ],
    };
  }
  try {
    const text = stripBom(markdown);
    return analyzeTree(processor.parse(text), text, options);
  } catch (err) {
    return {
      diagnostics: [
        {
          severity: "error",
          ruleId: "runbook/internal-error",
          message: `the parser failed unexpectedly (${err instanceof Error ? err.message : String(err)}); please report this runbook`,
          line: 1,
          column: 1,
        },
      ],
    };
  }
}

/**
 * Parses a runbook and returns it, or throws one `RW_ERR_RUNBOOK_INVALID` error listing every
 * error diagnostic. Warnings are dropped: use {@link parseRunbook} to see them.
 */
export function parseRunbookOrThrow(markdown: string, options: ParseOptions = {}): Runbook {
  const result = parseRunbook(markdown, options);
  if (result.runbook === undefined) {
    throw new RunbookInvalidError(result.diagnostics.filter((d) => d.severity === "error"));
  }
  return result.runbook;
}

export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Reads a runbook from an mdast tree parsed (with YAML front matter) from `text` (BOM dropped). */
export function analyzeTree(tree: Root, text: string, options: ParseOptions = {}): ParseResult {
  const walker = new Walker(new Source(text));
  walker.walk(tree);
  return judge(walker, options);
}

/** Runs every rule over what the Walker read, then builds the plan when no diagnostic is an error. */
function judge(walker: Walker, options: ParseOptions): ParseResult {
  const doc = walker.doc;
  const reporter = new Reporter(doc.source);
  runRules(rules, doc, reporter);
  const names = assignStepNames(doc.steps.map((d) => ({ explicitName: d.values.name, command: d.command })));
  const phases: Runbook["phases"] = { prechecks: [], main: [], postchecks: [], rollback: [] };
  doc.steps.forEach((draft, index) => {
    phases[draft.phase].push(toStep(draft, names[index]!));
  });
  let diagnostics = reporter.diagnostics;
  if (options.warningsAsErrors) diagnostics = diagnostics.map((d) => ({ ...d, severity: "error" }));
  diagnostics.sort((a, b) => a.line - b.line || a.column - b.column);
  const failed = diagnostics.some((d) => d.severity === "error");
  if (failed || doc.title === undefined || doc.metadata === undefined) return { diagnostics };
  const runbook: Runbook = { title: doc.title, metadata: doc.metadata, phases, notes: walker.notes };
  if (walker.preamble.length > 0) {
    const description = walker.preamble.join("\n\n").trim();
    if (description.length > 0) runbook.description = description;
  }
  return { runbook, diagnostics };
}

function toStep(draft: StepDraft, name: string): Step {
  const v = draft.values;
  const severity = v.severity ?? defaultStepSeverity;
  // Built field by field in one fixed order, so printed plans always read the same.
  const step: Record<string, unknown> = {
    name,
    command: draft.command,
    language: draft.language,
    ...(draft.languageDeclared ? { languageDeclared: true } : {}),
    requiresApproval: v.requiresApproval ?? severity === "high_risk",
    severity,
  };
  if (v.timeoutMs !== undefined) step.timeoutMs = v.timeoutMs;
  step.retries = v.retries ?? 0;
  if (v.connection !== undefined) step.connection = v.connection;
  if (v.expect !== undefined) step.expect = v.expect;
  step.onFailure = v.onFailure ?? "abort";
  step.idempotent = v.idempotent ?? false;
  if (draft.compensate !== undefined) step.compensate = draft.compensate;
  const description = draft.descriptions.length > 0 ? draft.descriptions.join("\n\n").trim() : "";
  if (description.length > 0) step.description = description;
  step.variables = draft.variables;
  step.position = draft.position;
  return step as Step;
}
