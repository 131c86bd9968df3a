import type { Diagnostic, Position } from "../schema.js";

/**
 * The Markdown text a tree was parsed from, with a leading BOM already dropped (micromark drops it
 * too, so tree offsets and these offsets agree). Turns offsets into line/column on demand and
 * slices block ranges back into Markdown.
 */
export class Source {
  readonly text: string;
  #lineStarts: number[] | undefined;

  constructor(text: string) {
    this.text = text;
  }

  /** 1-based line and column of an offset; `\r\n`, `\r` and `\n` each end one line. */
  point(offset: number): Position {
    const starts = this.#lines();
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= clamped) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: clamped - starts[lo]! + 1 };
  }

  /**
   * The Markdown between two offsets as plain text: line ends become `\n`, the first `indent`
   * columns of every line after the first are dropped (the list item's indentation), and the
   * result is trimmed.
   */
  slice(start: number, end: number, indent: number): string {
    const raw = this.text.slice(start, end);
    if (indent === 0 && !raw.includes("\r")) return raw.trim();
    const lines = raw.split(/\r\n|\r|\n/);
    if (indent > 0) {
      for (let i = 1; i < lines.length; i++) lines[i] = dedent(lines[i]!, indent);
    }
    return lines.join("\n").trim();
  }

  #lines(): number[] {
    if (this.#lineStarts) return this.#lineStarts;
    const starts = [0];
    const text = this.text;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) starts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        starts.push(i + 1);
      }
    }
    this.#lineStarts = starts;
    return starts;
  }
}

/** Drops up to `indent` columns of leading whitespace (a tab advances to the next multiple of 4). */
function dedent(line: string, indent: number): string {
  let column = 0;
  let i = 0;
  while (i < line.length && column < indent) {
    const c = line[i];
    if (c === " ") column++;
    else if (c === "\t") column = column - (column % 4) + 4;
    else break;
    i++;
  }
  const rest = line.slice(i);
  return column > indent ? " ".repeat(column - indent) + rest : rest;
}

/** Collects diagnostics for one document. */
export class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  errors = 0;
  readonly #source: Source;

  constructor(source: Source) {
    this.#source = source;
  }

  at(
    severity: Diagnostic["severity"],
    ruleId: string,
    message: string,
    offset: number,
    endOffset?: number,
  ): void {
    const start = this.#source.point(offset);
    const diagnostic: Diagnostic = { severity, ruleId, message, line: start.line, column: start.column };
    if (endOffset !== undefined && endOffset > offset) {
      const end = this.#source.point(endOffset);
      diagnostic.endLine = end.line;
      diagnostic.endColumn = end.column;
    }
    if (severity === "error") this.errors++;
    this.diagnostics.push(diagnostic);
  }

  error(ruleId: string, message: string, offset: number, endOffset?: number): void {
    this.at("error", ruleId, message, offset, endOffset);
  }

  warn(ruleId: string, message: string, offset: number, endOffset?: number): void {
    this.at("warning", ruleId, message, offset, endOffset);
  }
}
