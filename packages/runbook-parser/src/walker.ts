import type { Code, Heading, InlineCode, List, ListItem, Nodes, Paragraph, Root, RootContent } from "mdast";
import {
  type AnnotationSyntaxError,
  findClosingParen,
  interpretAnnotations,
  isExecutableLanguage,
  looksLikeAnnotations,
  normalizeLanguage,
  type RawAnnotation,
  readAnnotationList,
  readJsonAnnotations,
} from "./annotations.js";
import { readFrontMatter } from "./front-matter.js";
import type { Source } from "./internal/source.js";
import { lineEnd } from "./rules/shared.js";
import type { RunbookDocument, StepDraft } from "./rules/types.js";
import type { Note, PhaseName } from "./schema.js";
import { classifyHeading } from "./sections.js";
import { templateVariables } from "./templates.js";

/**
 * The Walker: one pass over the Markdown tree that reads it into a {@link RunbookDocument}
 * (front matter, sections, steps with their annotations and source ranges, notes, the preamble).
 * It judges nothing; the rules in rules/ do (see parse.ts).
 */

type Section =
  | { kind: "preamble" }
  | { kind: "phase"; phase: PhaseName; heading: string; offset: number; steps: number }
  | { kind: "note"; heading: string; start: number; end: number };

const start = (node: Nodes) => node.position?.start.offset ?? 0;
const end = (node: Nodes) => node.position?.end.offset ?? 0;

/**
 * Reads the tree into a {@link RunbookDocument}: sections, steps and their annotations, notes and
 * the preamble. It judges nothing: every diagnostic comes from a rule in rules/.
 */
export class Walker {
  readonly doc: RunbookDocument;
  preamble: string[] = [];
  preambleRun: { start: number; end: number } | undefined;
  section: Section = { kind: "preamble" };
  notes: Note[] = [];
  /** The step that text below it describes. */
  current: StepDraft | undefined;
  /** Text at the top of a list item before its fenced step: that step's description. */
  pending: string[] | undefined;

  constructor(source: Source) {
    this.doc = {
      source,
      title: undefined,
      titleOffset: 0,
      firstContentOffset: 0,
      metadata: {},
      frontMatterEnd: undefined,
      problems: [],
      headings: [],
      mainSection: undefined,
      emptyPhases: [],
      commandlessItems: [],
      detachedTexts: [],
      steps: [],
    };
  }

  get source(): Source {
    return this.doc.source;
  }

  walk(tree: Root): void {
    const children = tree.children;
    for (let i = 0; i < children.length; i++) {
      const node = children[i]!;
      if (node.type === "yaml") {
        if (i === 0) {
          const problems = this.doc.problems;
          this.doc.metadata = readFrontMatter(this.source, end(node), {
            error: (ruleId, message, s, e = s) =>
              problems.push({ ruleId, severity: "error", message, start: s, end: e }),
            warn: (ruleId, message, s, e = s) =>
              problems.push({ ruleId, severity: "warning", message, start: s, end: e }),
          });
          this.doc.frontMatterEnd = end(node);
          this.doc.firstContentOffset = children[1] ? start(children[1]) : end(node);
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
    const doc = this.doc;
    if (node.depth === 1 && doc.title === undefined && text.length > 0) {
      this.closeSection();
      doc.title = text;
      doc.titleOffset = start(node);
      this.section = { kind: "preamble" };
      return;
    }
    const phase = text.length > 0 ? classifyHeading(text) : undefined;
    doc.headings.push({ text, phase, start: start(node), end: end(node) });
    if (phase !== undefined) {
      this.closeSection();
      this.section = { kind: "phase", phase, heading: text, offset: start(node), steps: 0 };
      if (phase === "main" && doc.mainSection === undefined)
        doc.mainSection = { offset: start(node), heading: text };
      return;
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
      this.doc.emptyPhases.push({ heading: section.heading, offset: section.offset });
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
      const before = this.doc.steps.length;
      this.pending = [];
      for (const child of item.children) this.phaseBlock(child, indent);
      if (this.doc.steps.length === before) {
        this.doc.commandlessItems.push({
          excerpt: plainText(item).trim().replace(/\s+/g, " "),
          start: start(item),
          end: first?.position ? Math.min(end(item), lineEnd(this.source.text, start(item))) : end(item),
        });
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
      this.doc.detachedTexts.push({
        heading: section.kind === "phase" ? section.heading : "this section",
        start: start(node),
        end: lineEnd(this.source.text, start(node)),
      });
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
      templateRange: { start: start(code), end: end(code) },
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
      templateRange: { start: firstLineEnd, end: end(node) },
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
    templateRange: { start: number; end: number };
    descriptions: string[];
  }): void {
    const section = this.section;
    if (section.kind !== "phase") return;
    section.steps++;
    const doc = this.doc;
    const offset = start(input.node);
    for (const error of input.errors) {
      doc.problems.push({ ruleId: "runbook/malformed-annotation", severity: "error", ...error });
    }
    const { values, problems, ranges, valueRanges } = interpretAnnotations(input.annotations);
    for (const problem of problems) doc.problems.push({ ...problem, severity: "error" });
    const variables = templateVariables(input.command);
    const language = values.language ?? input.language;
    const metadata = doc.metadata;
    // A step whose language defaulted takes its connection's language at run time (SQL on a
    // database, …): it is certainly shell only when nothing but the local default can run it.
    // Elsewhere the renderer applies the same check when the language is known.
    const lintAsShell =
      language === "sh" &&
      (values.language !== undefined ||
        input.languageDeclared ||
        (values.connection === undefined &&
          metadata?.connection === undefined &&
          metadata?.ticketConnections === undefined));
    const draft: StepDraft = {
      phase: section.phase,
      offset,
      position: input.node.position
        ? { line: input.node.position.start.line, column: input.node.position.start.column }
        : this.source.point(offset),
      command: input.command,
      language,
      languageDeclared: values.language !== undefined || input.languageDeclared,
      lintAsShell,
      values,
      ranges,
      valueRanges,
      templateRange: input.templateRange,
      descriptions: input.descriptions,
      variables,
      compensate:
        values.compensate === undefined
          ? undefined
          : { command: values.compensate, variables: templateVariables(values.compensate) },
    };
    doc.steps.push(draft);
    this.current = draft;
  }
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
