import type { Code, Heading, InlineCode, List, ListItem, Nodes, Paragraph, Root, RootContent } from "mdast";
import { remark } from "remark";
import remarkFrontmatter from "remark-frontmatter";
import {
  type AnnotationKey,
  type AnnotationSyntaxError,
  findClosingParen,
  interpretAnnotations,
  isExecutableLanguage,
  looksLikeAnnotations,
  normalizeLanguage,
  type RawAnnotation,
  readAnnotationList,
  readJsonAnnotations,
  type StepAnnotations,
} from "./annotations.js";
import { RunbookInvalidError } from "./errors.js";
import { readFrontMatter } from "./front-matter.js";
import { assignStepNames } from "./internal/names.js";
import { Reporter, Source } from "./internal/source.js";
import {
  type Diagnostic,
  defaultStepSeverity,
  type Note,
  type PhaseName,
  type Position,
  type Runbook,
  type RunbookMetadata,
  type Step,
} from "./schema.js";
import { classifyHeading, nearestPhase, phaseHeadings } from "./sections.js";
import { analyzeShellTemplate } from "./shell-context.js";
import { tokenizeTemplate } from "./templates.js";

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
  return walker.finish(options);
}

interface StepDraft {
  phase: PhaseName;
  offset: number;
  position: Position;
  command: string;
  language: string;
  /** A fence's info string or a `language` annotation named the language (it did not default to sh). */
  languageDeclared: boolean;
  values: StepAnnotations;
  nameRange: { start: number; end: number } | undefined;
  onFailureRange: { start: number; end: number } | undefined;
  descriptions: string[];
  variables: string[];
  compensate: Step["compensate"];
}

type Section =
  | { kind: "preamble" }
  | { kind: "phase"; phase: PhaseName; heading: string; offset: number; steps: number }
  | { kind: "note"; heading: string; start: number; end: number };

const start = (node: Nodes) => node.position?.start.offset ?? 0;
const end = (node: Nodes) => node.position?.end.offset ?? 0;

class Walker {
  readonly source: Source;
  readonly report: Reporter;
  title: string | undefined;
  titleOffset = 0;
  firstContentOffset = 0;
  metadata: RunbookMetadata | undefined = {};
  preamble: string[] = [];
  preambleRun: { start: number; end: number } | undefined;
  section: Section = { kind: "preamble" };
  mainSection: { offset: number; heading: string } | undefined;
  seenPhases = new Map<PhaseName, number>();
  emptyPhases: { heading: string; offset: number }[] = [];
  notes: Note[] = [];
  drafts: StepDraft[] = [];
  /** The step that text below it describes. */
  current: StepDraft | undefined;
  /** Text at the top of a list item before its fenced step: that step's description. */
  pending: string[] | undefined;

  constructor(source: Source) {
    this.source = source;
    this.report = new Reporter(source);
  }

  walk(tree: Root): void {
    const children = tree.children;
    for (let i = 0; i < children.length; i++) {
      const node = children[i]!;
      if (node.type === "yaml") {
        if (i === 0) {
          this.metadata = readFrontMatter(this.source, end(node), this.report);
          this.firstContentOffset = children[1] ? start(children[1]) : end(node);
        }
        continue;
      }
      if (node.type === "heading") this.heading(node);
      else this.block(node);
    }
    this.closeSection();
  }

  heading(node: Heading): void {
    const text = plainText(node).trim();
    if (node.depth === 1 && this.title === undefined && text.length > 0) {
      this.closeSection();
      this.title = text;
      this.titleOffset = start(node);
      this.section = { kind: "preamble" };
      return;
    }
    const phase = text.length > 0 ? classifyHeading(text) : undefined;
    if (phase !== undefined) {
      this.closeSection();
      const seen = this.seenPhases.get(phase);
      if (seen !== undefined) {
        this.report.warn(
          "runbook/duplicate-section",
          `a second "${text}" section: its steps are added to ${phaseHeadings[phase]} (line ${this.source.point(seen).line}); merge the two sections`,
          start(node),
          end(node),
        );
      } else this.seenPhases.set(phase, start(node));
      this.section = { kind: "phase", phase, heading: text, offset: start(node), steps: 0 };
      if (phase === "main" && this.mainSection === undefined)
        this.mainSection = { offset: start(node), heading: text };
      return;
    }
    const near = text.length > 0 ? nearestPhase(text) : undefined;
    if (near !== undefined) {
      this.report.warn(
        "runbook/unknown-section",
        `"${text}" is not a runbook section, so its content is kept as a note and runs nothing (did you mean "${near.heading}"?)`,
        start(node),
        end(node),
      );
    }
    if (node.depth <= 2 && text.length > 0) {
      this.closeSection();
      this.section = { kind: "note", heading: text, start: -1, end: -1 };
      return;
    }
    this.block(node);
  }

  block(node: RootContent): void {
    const section = this.section;
    if (section.kind === "preamble") {
      if (this.preambleRun === undefined) this.preambleRun = { start: start(node), end: end(node) };
      else this.preambleRun.end = end(node);
    } else if (section.kind === "note") {
      if (section.start === -1) section.start = start(node);
      section.end = end(node);
    } else {
      this.phaseBlock(node, 0);
    }
  }

  closeSection(): void {
    const section = this.section;
    if (section.kind === "preamble" && this.preambleRun !== undefined) {
      this.preamble.push(this.source.slice(this.preambleRun.start, this.preambleRun.end, 0));
      this.preambleRun = undefined;
    } else if (section.kind === "note") {
      const text = section.start === -1 ? "" : this.source.slice(section.start, section.end, 0);
      this.notes.push({ heading: section.heading, text });
    } else if (section.kind === "phase" && section.steps === 0 && section.phase !== "main") {
      this.emptyPhases.push({ heading: section.heading, offset: section.offset });
    }
    this.current = undefined;
    this.pending = undefined;
  }

  /** A block inside a phase section, or inside a list item there (`indent`: the item's content column). */
  phaseBlock(node: RootContent, indent: number): void {
    if (node.type === "code") {
      if (isExecutableLanguage(fenceLanguage(node))) this.fenceStep(node);
      else this.describe(node, indent);
    } else if (node.type === "list") {
      this.list(node, indent);
    } else if (node.type === "html" && node.value.trimStart().startsWith("<!--")) {
      // Comments are for the author; they describe nothing.
    } else if (node.type === "thematicBreak") {
      // A visual separator between steps.
    } else {
      this.describe(node, indent);
    }
  }

  list(node: List, indent: number): void {
    if (!node.children.some(isStepLike) && (this.current !== undefined || this.pending !== undefined)) {
      this.describe(node, indent);
      return;
    }
    for (const item of node.children) this.item(item);
  }

  item(item: ListItem): void {
    this.current = undefined;
    const saved = this.pending;
    const first = item.children[0];
    const indent = first?.position ? first.position.start.column - 1 : 0;
    if (first?.type === "paragraph" && first.children[0]?.type === "inlineCode") {
      this.pending = undefined;
      this.inlineStep(first, first.children[0], indent);
      for (const child of item.children.slice(1)) this.phaseBlock(child, indent);
    } else {
      const before = this.drafts.length;
      this.pending = [];
      for (const child of item.children) this.phaseBlock(child, indent);
      if (this.drafts.length === before) {
        const excerpt = plainText(item).trim().replace(/\s+/g, " ");
        const shown = excerpt.length > 40 ? `${excerpt.slice(0, 40)}…` : excerpt;
        this.report.error(
          "runbook/missing-command",
          `${shown ? `"${shown}" ` : "this list item "}is a step with no command: start it with the command in backticks (- \`systemctl restart nginx\`) or put the command in a fenced code block; move prose to a step's description or a note section`,
          start(item),
          first?.position ? Math.min(end(item), lineEnd(this.source.text, start(item))) : end(item),
        );
      }
    }
    this.pending = saved;
  }

  describe(node: RootContent, indent: number): void {
    const text = this.source.slice(start(node), end(node), indent);
    if (text.length === 0) return;
    if (this.current !== undefined) this.current.descriptions.push(text);
    else if (this.pending !== undefined) this.pending.push(text);
    else {
      const section = this.section;
      const heading = section.kind === "phase" ? section.heading : "this section";
      this.report.warn(
        "runbook/detached-text",
        `text before the first step of "${heading}" describes no step and is ignored: move it below the step it describes, or under its own heading`,
        start(node),
        lineEnd(this.source.text, start(node)),
      );
    }
  }

  inlineStep(paragraph: Paragraph, code: InlineCode, indent: number): void {
    const text = this.source.text;
    const paragraphEnd = end(paragraph);
    let rest = end(code);
    let annotations: RawAnnotation[] = [];
    let errors: AnnotationSyntaxError[] = [];
    let i = rest;
    while (i < paragraphEnd && /\s/.test(text[i]!)) i++;
    if (text[i] === "(") {
      const close = findClosingParen(text.slice(0, paragraphEnd), i);
      const inner = text.slice(i + 1, close === -1 ? paragraphEnd : close);
      if (looksLikeAnnotations(inner)) {
        if (close === -1) {
          errors = [
            { message: 'the annotation list is never closed: end it with ")"', start: i, end: paragraphEnd },
          ];
          rest = paragraphEnd;
        } else {
          ({ annotations, errors } = readAnnotationList(inner, i + 1, "list"));
          rest = close + 1;
        }
      }
    }
    const description = this.source
      .slice(rest, paragraphEnd, indent)
      .replace(/^(?:—|–|--|-|:)\s+/, "")
      .trim();
    this.addStep({
      node: code,
      command: code.value.trim(),
      language: "sh",
      languageDeclared: false,
      annotations,
      errors,
      templateRange: [start(code), end(code)],
      descriptions: description.length > 0 ? [description] : [],
    });
  }

  fenceStep(node: Code): void {
    const text = this.source.text;
    const nodeStart = start(node);
    const firstLineEnd = lineEnd(text, nodeStart);
    const fence = /^[ \t]*(?:`{3,}|~{3,})/.exec(text.slice(nodeStart, firstLineEnd));
    const infoStart = nodeStart + (fence?.[0].length ?? 0);
    const info = text.slice(infoStart, firstLineEnd);
    let annotations: RawAnnotation[] = [];
    let errors: AnnotationSyntaxError[] = [];
    let language = "sh";
    const lang = /^\s*([^\s{]+)/.exec(info);
    let attrStart = 0;
    if (lang !== null) {
      language = normalizeLanguage(lang[1]!);
      attrStart = lang[0].length;
    }
    while (attrStart < info.length && /\s/.test(info[attrStart]!)) attrStart++;
    const attrs = info.slice(attrStart).trimEnd();
    const attrBase = infoStart + attrStart;
    if (attrs.startsWith("{")) {
      if (!attrs.endsWith("}")) {
        errors = [
          {
            message: 'the fence attributes are never closed: end them with "}"',
            start: attrBase,
            end: firstLineEnd,
          },
        ];
      } else if (/^\{\s*"/.test(attrs)) {
        ({ annotations, errors } = readJsonAnnotations(attrs, attrBase));
      } else {
        ({ annotations, errors } = readAnnotationList(attrs.slice(1, -1), attrBase + 1, "fence"));
      }
    } else if (attrs.length > 0) {
      ({ annotations, errors } = readAnnotationList(attrs, attrBase, "fence"));
    }
    const command = node.value
      .replace(/\r\n?/g, "\n")
      .replace(/^(?:[ \t]*\n)+/, "")
      .trimEnd();
    const descriptions = this.pending ?? [];
    if (this.pending !== undefined) this.pending = [];
    this.addStep({
      node,
      command,
      language,
      languageDeclared: lang !== null,
      annotations,
      errors,
      templateRange: [firstLineEnd, end(node)],
      descriptions: [...descriptions],
    });
  }

  addStep(input: {
    node: Nodes;
    command: string;
    language: string;
    languageDeclared: boolean;
    annotations: RawAnnotation[];
    errors: AnnotationSyntaxError[];
    templateRange: [number, number];
    descriptions: string[];
  }): void {
    const section = this.section;
    if (section.kind !== "phase") return;
    section.steps++;
    const report = this.report;
    const offset = start(input.node);
    for (const error of input.errors)
      report.error("runbook/malformed-annotation", error.message, error.start, error.end);
    const { values, problems, ranges, valueRanges } = interpretAnnotations(input.annotations);
    for (const problem of problems) report.error(problem.ruleId, problem.message, problem.start, problem.end);
    if (input.command.length === 0) {
      report.error(
        "runbook/missing-command",
        "this step's command is empty: write the command to run between the backticks or inside the fence",
        offset,
        lineEnd(this.source.text, offset),
      );
    }
    const [rawStart, rawEnd] = input.templateRange;
    const raw = this.source.text.slice(rawStart, rawEnd);
    if (raw.includes("{{")) {
      for (const problem of tokenizeTemplate(raw).problems) {
        report.error(
          "runbook/invalid-template",
          problem.message,
          rawStart + problem.start,
          rawStart + problem.end,
        );
      }
    }
    const variables: string[] = [];
    if (input.command.includes("{{")) {
      for (const token of tokenizeTemplate(input.command).tokens) {
        if (token.type === "reference" && !variables.includes(token.name)) variables.push(token.name);
      }
    }
    const language = values.language ?? input.language;
    // A step whose language defaulted takes its connection's language at run time (SQL on a
    // database, …): it is certainly shell only when nothing but the local default can run it.
    // Elsewhere the renderer applies the same check when the language is known.
    const lintAsShell =
      language === "sh" &&
      (values.language !== undefined ||
        input.languageDeclared ||
        (values.connection === undefined &&
          this.metadata?.connection === undefined &&
          this.metadata?.ticketConnections === undefined));
    if (lintAsShell && input.command.includes("{{")) {
      // Placeholders of the command, in order, are the references of its raw source, in order.
      const sourceRefs = tokenizeTemplate(raw).tokens.filter((t) => t.type === "reference");
      this.checkShellContexts(input.command, (k) => {
        const ref = sourceRefs[k];
        return ref === undefined
          ? { start: rawStart, end: rawEnd }
          : { start: rawStart + ref.start, end: rawStart + ref.end };
      });
    }
    const compensate =
      values.compensate === undefined
        ? undefined
        : this.compensation(
            values.compensate,
            section.phase,
            ranges.compensate,
            valueRanges.compensate,
            lintAsShell,
          );
    const severity = values.severity ?? defaultStepSeverity;
    if (severity === "high_risk" && values.requiresApproval === false) {
      const range = rangeFor(ranges, "requires_approval", offset);
      report.error(
        "runbook/unsafe-step",
        "a high_risk step must require approval: remove requires_approval: false, or lower the severity if the step is not high risk",
        range.start,
        range.end,
      );
    }
    const draft: StepDraft = {
      phase: section.phase,
      offset,
      position: input.node.position
        ? { line: input.node.position.start.line, column: input.node.position.start.column }
        : this.source.point(offset),
      command: input.command,
      language,
      languageDeclared: values.language !== undefined || input.languageDeclared,
      values,
      nameRange: ranges.name,
      onFailureRange: ranges.on_failure,
      descriptions: input.descriptions,
      variables,
      compensate,
    };
    this.drafts.push(draft);
    this.current = draft;
  }

  /**
   * Checks a `compensate` command (its templates, and that its phase ever compensates) and lists
   * its template references. Offsets of template problems are exact when the value is written
   * plainly or in quotes without escapes; otherwise the whole value is reported.
   */
  compensation(
    command: string,
    phase: PhaseName,
    keyRange: { start: number; end: number } | undefined,
    valueRange: { start: number; end: number } | undefined,
    /** The step is certainly a shell step: its placeholders' contexts are checked. */
    lintAsShell: boolean,
  ): Step["compensate"] {
    const report = this.report;
    if (phase === "prechecks" || phase === "rollback") {
      const range = keyRange ?? valueRange ?? { start: 0, end: 0 };
      report.warn(
        "runbook/ignored-compensation",
        phase === "prechecks"
          ? "prechecks change nothing, so a precheck is never compensated: remove compensate, or move the step to the main steps"
          : "a rollback step is never compensated (a failing rollback step fails the session): remove compensate",
        range.start,
        range.end,
      );
    }
    const variables: string[] = [];
    if (!command.includes("{{")) return { command, variables };
    const { tokens, problems } = tokenizeTemplate(command);
    const raw =
      valueRange === undefined ? undefined : this.source.text.slice(valueRange.start, valueRange.end);
    const base =
      valueRange === undefined
        ? undefined
        : raw === command
          ? valueRange.start
          : /^["']/.test(raw!) && raw!.slice(1, -1) === command
            ? valueRange.start + 1
            : undefined;
    if (lintAsShell) {
      const references = tokens.filter((t) => t.type === "reference");
      this.checkShellContexts(
        command,
        (k) => {
          const ref = references[k];
          if (base !== undefined && ref !== undefined)
            return { start: base + ref.start, end: base + ref.end };
          return valueRange ?? keyRange ?? { start: 0, end: 0 };
        },
        "compensate: ",
      );
    }
    if (problems.length > 0 && valueRange !== undefined) {
      for (const problem of problems) {
        report.error(
          "runbook/invalid-template",
          `compensate: ${problem.message}`,
          base === undefined ? valueRange.start : base + problem.start,
          base === undefined ? valueRange.end : base + problem.end,
        );
      }
    }
    for (const token of tokens) {
      if (token.type === "reference" && !variables.includes(token.name)) variables.push(token.name);
    }
    return { command, variables };
  }

  /**
   * Reports every placeholder of a shell command that sits where a ticket value cannot be proven
   * one inert word (see shell-context.ts). `at(k)` gives the source range of the k-th placeholder.
   */
  checkShellContexts(command: string, at: (k: number) => { start: number; end: number }, prefix = ""): void {
    analyzeShellTemplate(command).placeholders.forEach((p, k) => {
      if (p.allowed) return;
      const range = at(k);
      this.report.error("runbook/unsafe-template-context", `${prefix}${p.message}`, range.start, range.end);
    });
  }

  finish(options: ParseOptions): ParseResult {
    const report = this.report;
    if (this.title === undefined) {
      report.error(
        "runbook/missing-title",
        'the runbook has no title: start it with a level-1 heading that says what it fixes, such as "# Fix Database Connection"',
        this.firstContentOffset,
      );
    }
    const firstByName = new Map<string, StepDraft>();
    for (const draft of this.drafts) {
      const name = draft.values.name;
      if (name === undefined) continue;
      const first = firstByName.get(name);
      if (first === undefined) firstByName.set(name, draft);
      else {
        const range = draft.nameRange ?? { start: draft.offset, end: draft.offset };
        report.error(
          "runbook/duplicate-step",
          `step name "${name}" is already used by the step at line ${first.position.line}: give each step a unique name`,
          range.start,
          range.end,
        );
      }
    }
    const names = assignStepNames(
      this.drafts.map((d) => ({ explicitName: d.values.name, command: d.command })),
    );
    const phases: Runbook["phases"] = { prechecks: [], main: [], postchecks: [], rollback: [] };
    this.drafts.forEach((draft, index) => {
      phases[draft.phase].push(toStep(draft, names[index]!));
    });
    if (phases.main.length === 0) {
      if (this.mainSection !== undefined) {
        report.error(
          "runbook/missing-main",
          `"${this.mainSection.heading}" has no steps: add at least one, such as - \`restart_db_service.sh\``,
          this.mainSection.offset,
          lineEnd(this.source.text, this.mainSection.offset),
        );
      } else {
        report.error(
          "runbook/missing-main",
          'the runbook has no main steps: add a "## Main Steps" section with at least one step, such as - `restart_db_service.sh`',
          this.title !== undefined ? this.titleOffset : this.firstContentOffset,
        );
      }
    }
    for (const empty of this.emptyPhases) {
      report.warn(
        "runbook/empty-phase",
        `"${empty.heading}" has no steps: add steps or remove the heading`,
        empty.offset,
        lineEnd(this.source.text, empty.offset),
      );
    }
    // Compensations of main steps and postchecks are a rollback too.
    const compensates = this.drafts.some(
      (d) => d.compensate !== undefined && (d.phase === "main" || d.phase === "postchecks"),
    );
    if (phases.rollback.length === 0 && !compensates) {
      for (const draft of this.drafts) {
        if (draft.values.onFailure !== "rollback") continue;
        const range = draft.onFailureRange ?? { start: draft.offset, end: draft.offset };
        report.warn(
          "runbook/missing-rollback",
          'on_failure: rollback, but the runbook has no rollback steps: add a "## Rollback" section, or use on_failure: abort',
          range.start,
          range.end,
        );
      }
    }
    let diagnostics = report.diagnostics;
    if (options.warningsAsErrors) diagnostics = diagnostics.map((d) => ({ ...d, severity: "error" }));
    diagnostics.sort((a, b) => a.line - b.line || a.column - b.column);
    const failed = diagnostics.some((d) => d.severity === "error");
    if (failed || this.title === undefined || this.metadata === undefined) return { diagnostics };
    const runbook: Runbook = { title: this.title, metadata: this.metadata, phases, notes: this.notes };
    if (this.preamble.length > 0) {
      const description = this.preamble.join("\n\n").trim();
      if (description.length > 0) runbook.description = description;
    }
    return { runbook, diagnostics };
  }
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

function rangeFor(
  ranges: Partial<Record<AnnotationKey, { start: number; end: number }>>,
  key: AnnotationKey,
  fallback: number,
): { start: number; end: number } {
  return ranges[key] ?? { start: fallback, end: fallback };
}

/** Whether a list item is (or holds) a step: leading inline code, an executable fence, or nested steps. */
function isStepLike(item: ListItem): boolean {
  const first = item.children[0];
  if (first?.type === "paragraph" && first.children[0]?.type === "inlineCode") return true;
  for (const child of item.children) {
    if (child.type === "code" && isExecutableLanguage(fenceLanguage(child))) return true;
    if (child.type === "list" && child.children.some(isStepLike)) return true;
  }
  return false;
}

/** A fence's language: the info string's first word (`sh` when there is none). */
function fenceLanguage(node: Code): string {
  const lang = node.lang?.split("{")[0]?.trim();
  return lang ? normalizeLanguage(lang) : "sh";
}

function lineEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && text[i] !== "\n" && text[i] !== "\r") i++;
  return i;
}

/** The text of a node as a reader sees it: code spans and emphasis reduced to their text. */
export function plainText(node: Nodes): string {
  if ("value" in node && typeof node.value === "string" && node.type !== "html" && node.type !== "yaml") {
    return node.value;
  }
  if (node.type === "break") return " ";
  if ("children" in node) {
    let out = "";
    for (const child of node.children) out += plainText(child as Nodes);
    return out;
  }
  return "";
}
