import type { StepAnnotations } from "../annotations.js";
import type { Reporter, Source } from "../internal/source.js";
import type { PhaseName, Position, RunbookMetadata, Step } from "../schema.js";

/**
 * What the Walker (parse.ts) reads from the Markdown tree and the rules check: a runbook before it
 * is judged. Offsets are source offsets (into `source.text`); rules turn them into line:column by
 * reporting through `report`.
 */

/** A source range, as offsets. */
export interface Range {
  start: number;
  end: number;
}

/** A problem a reader found while reading (YAML, annotation syntax, annotation values). */
export interface ReadProblem extends Range {
  ruleId: string;
  severity: "error" | "warning";
  message: string;
}

/** One step as read, before names are assigned. */
export interface StepDraft {
  phase: PhaseName;
  offset: number;
  position: Position;
  command: string;
  language: string;
  /** A fence's info string or a `language` annotation named the language (it did not default to sh). */
  languageDeclared: boolean;
  /** The step is certainly a shell step, so its placeholders' shell contexts are checked. */
  lintAsShell: boolean;
  values: StepAnnotations;
  /** Source range of each annotation that was read, by canonical key. */
  ranges: Partial<Record<string, Range>>;
  /** Source range of each value that was read, by canonical key (the key's range in the JSON form). */
  valueRanges: Partial<Record<string, Range>>;
  /** The command's source: the code span with its backticks, or the fence's body and closing line. */
  templateRange: Range;
  descriptions: string[];
  variables: string[];
  compensate: Step["compensate"];
}

/** A heading that is not the title, in document order. */
export interface HeadingInfo extends Range {
  text: string;
  /** The phase it names, if any. */
  phase: PhaseName | undefined;
}

/** A runbook as read from its Markdown tree, before the rules judge it. */
export interface RunbookDocument {
  source: Source;
  title: string | undefined;
  titleOffset: number;
  /** Where the first content after the front matter starts. */
  firstContentOffset: number;
  /** Undefined when the front matter has errors. */
  metadata: RunbookMetadata | undefined;
  /** Where the front matter node ends (its closing `---`), when there is front matter. */
  frontMatterEnd: number | undefined;
  /** Problems the readers (front matter, annotation lists and values) found, in reading order. */
  problems: ReadProblem[];
  headings: HeadingInfo[];
  /** The first heading of the main phase. */
  mainSection: { offset: number; heading: string } | undefined;
  /** Phase sections other than main with no step. */
  emptyPhases: { heading: string; offset: number }[];
  /** List items in a phase that hold no command. */
  commandlessItems: (Range & { excerpt: string })[];
  /** Text in a phase before its first step. */
  detachedTexts: (Range & { heading: string })[];
  steps: StepDraft[];
}

/** What a rule gets: the document, and a reporter that stamps the rule's id. */
export interface RuleContext {
  doc: RunbookDocument;
  report(message: string, start: number, end?: number): void;
}

/**
 * One diagnostic rule: its id (`runbook/…`), its severity, and a check over the read document.
 * Register a new rule in rules/index.ts.
 */
export interface Rule {
  id: `runbook/${string}`;
  severity: "error" | "warning";
  check(ctx: RuleContext): void;
}

/** Runs the rules over a document, in order, reporting into `reporter`. */
export function runRules(rules: readonly Rule[], doc: RunbookDocument, reporter: Reporter): void {
  let rule: Rule | undefined;
  // One context for every rule: `report` stamps the id of the rule that is running.
  const ctx: RuleContext = {
    doc,
    report: (message, start, end) => reporter.at(rule!.severity, rule!.id, message, start, end),
  };
  for (rule of rules) rule.check(ctx);
}

/** A rule whose problems a reader finds (see `RunbookDocument.problems`): it reports them. */
export function readerRule(id: Rule["id"], severity: Rule["severity"]): Rule {
  return {
    id,
    severity,
    check({ doc, report }) {
      for (const p of doc.problems) if (p.ruleId === id) report(p.message, p.start, p.end);
    },
  };
}
