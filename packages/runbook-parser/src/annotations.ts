import { annotationFor, annotationKeys } from "./annotations/index.js";
import type { StepAnnotations } from "./annotations/types.js";
import { normalizeKey } from "./internal/keys.js";
import { isExecutableLanguage, normalizeLanguage } from "./internal/languages.js";
import { closestMatch, didYouMean } from "./internal/suggest.js";

/**
 * Step annotations: `(severity: high_risk, requires_approval: true)` after a list item's command,
 * `{requires_approval=true timeout=30s}` or `{"requires_approval": true}` in a fence's info string.
 * This file reads the list syntax and drives the annotations; each annotation's key, aliases and
 * value reading live in its own file under annotations/ (registered in annotations/index.ts).
 */

export { type AnnotationKey, annotationKeys } from "./annotations/index.js";
export type { StepAnnotations } from "./annotations/types.js";
export { formatDuration, parseDuration } from "./annotations/values.js";
export { isExecutableLanguage, normalizeKey, normalizeLanguage };

/** One `key: value` as written, with source offsets for diagnostics. */
export interface RawAnnotation {
  /** The key as written. */
  key: string;
  /** A string as written (quotes removed), `true` for a bare flag, or a JSON value. */
  value: unknown;
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
}

/** A syntax problem in an annotation list (an unclosed quote, JSON that does not parse). */
export interface AnnotationSyntaxError {
  message: string;
  start: number;
  end: number;
}

export interface AnnotationProblem {
  ruleId: "runbook/unknown-annotation" | "runbook/invalid-value" | "runbook/duplicate-annotation";
  message: string;
  start: number;
  end: number;
}

/**
 * Whether the text inside a parenthesized group after a command is an annotation list rather
 * than prose such as "(run twice)": some entry is `key: value`/`key=value`, or a bare word close
 * to a known key (so a misspelt flag is reported, not silently read as description).
 */
export function looksLikeAnnotations(inner: string): boolean {
  const trimmed = inner.trim();
  if (trimmed.length === 0) return true;
  for (const entry of trimmed.split(",")) {
    const e = entry.trim();
    if (/^[A-Za-z][\w-]*\s*[:=]/.test(e)) return true;
    if (/^[A-Za-z][\w-]*$/.test(e) && closestMatch(normalizeKey(e), annotationKeys) !== undefined)
      return true;
  }
  return false;
}

/** Finds the `)` that closes the `(` at `open`, skipping quoted strings and nested parentheses. */
export function findClosingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const end = skipQuoted(text, i);
      if (end === -1) return -1;
      i = end;
    } else if (c === "(") depth++;
    else if (c === ")") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Index of the closing quote of the string opening at `start`, or -1. */
function skipQuoted(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\" && quote === '"') i++;
    else if (text[i] === quote) return i;
    else if (text[i] === "\n" || text[i] === "\r") return -1;
  }
  return -1;
}

/**
 * Reads `key: value, key=value, flag` (the list-item form; `separator` ",") or
 * `key=value key="a b" flag` (the fence form; `separator` " "). `base` is the source offset of
 * `text`, so every offset returned is a source offset.
 */
export function readAnnotationList(
  text: string,
  base: number,
  mode: "list" | "fence",
): { annotations: RawAnnotation[]; errors: AnnotationSyntaxError[] } {
  const annotations: RawAnnotation[] = [];
  const errors: AnnotationSyntaxError[] = [];
  const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\r";
  const isSeparator = (c: string | undefined) => c === "," || (mode === "fence" && isSpace(c));
  let i = 0;
  while (i < text.length) {
    while (i < text.length && (isSpace(text[i]) || text[i] === ",")) i++;
    if (i >= text.length) break;
    const keyStart = i;
    while (
      i < text.length &&
      !isSeparator(text[i]) &&
      text[i] !== ":" &&
      text[i] !== "=" &&
      !isSpace(text[i])
    ) {
      if (text[i] === '"' || text[i] === "'") break;
      i++;
    }
    const keyEnd = i;
    if (keyEnd === keyStart) {
      // A value with no key, such as a stray quoted string.
      const end = text[i] === '"' || text[i] === "'" ? skipQuoted(text, i) : -1;
      const stop = end === -1 ? text.length : end + 1;
      errors.push({
        message: `"${text.slice(i, stop)}" has no key: write key=value`,
        start: base + i,
        end: base + stop,
      });
      i = stop;
      continue;
    }
    let j = i;
    while (j < text.length && (text[j] === " " || text[j] === "\t")) j++;
    const key = text.slice(keyStart, keyEnd);
    if (text[j] !== ":" && text[j] !== "=") {
      annotations.push({
        key,
        value: true,
        keyStart: base + keyStart,
        keyEnd: base + keyEnd,
        valueStart: base + keyStart,
        valueEnd: base + keyEnd,
      });
      i = keyEnd;
      continue;
    }
    j++;
    while (j < text.length && isSpace(text[j])) j++;
    let value: string;
    let valueStart = j;
    let valueEnd: number;
    if (text[j] === '"' || text[j] === "'") {
      const close = skipQuoted(text, j);
      if (close === -1) {
        errors.push({
          message: `the value of "${key}" opens a quote that is never closed`,
          start: base + j,
          end: base + text.length,
        });
        break;
      }
      const quoted = text.slice(j, close + 1);
      if (quoted[0] === '"') {
        try {
          value = JSON.parse(quoted) as string;
        } catch {
          errors.push({
            message: `the value of "${key}" is not a valid quoted string`,
            start: base + j,
            end: base + close + 1,
          });
          i = close + 1;
          continue;
        }
      } else {
        value = quoted.slice(1, -1);
      }
      valueEnd = close + 1;
      i = close + 1;
    } else {
      let k = j;
      while (k < text.length && !isSeparator(text[k])) k++;
      let end = k;
      while (end > j && isSpace(text[end - 1])) end--;
      value = text.slice(j, end);
      valueStart = j;
      valueEnd = end;
      i = k;
    }
    annotations.push({
      key,
      value,
      keyStart: base + keyStart,
      keyEnd: base + keyEnd,
      valueStart: base + valueStart,
      valueEnd: base + valueEnd,
    });
  }
  return { annotations, errors };
}

/**
 * Reads the JSON form of fence attributes: `{"requires_approval": true, "timeout": "30s"}`.
 * `text` includes the braces and starts at source offset `base`.
 */
export function readJsonAnnotations(
  text: string,
  base: number,
): { annotations: RawAnnotation[]; errors: AnnotationSyntaxError[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? `: ${err.message}` : "";
    return {
      annotations: [],
      errors: [
        { message: `the fence attributes are not valid JSON${detail}`, start: base, end: base + text.length },
      ],
    };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return {
      annotations: [],
      errors: [
        { message: "the fence attributes must be a JSON object", start: base, end: base + text.length },
      ],
    };
  }
  const annotations: RawAnnotation[] = [];
  let searchFrom = 0;
  for (const [key, value] of Object.entries(parsed)) {
    const quotedKey = JSON.stringify(key);
    let at = text.indexOf(quotedKey, searchFrom);
    if (at === -1) at = 0;
    else searchFrom = at + quotedKey.length;
    annotations.push({
      key,
      value,
      keyStart: base + at,
      keyEnd: base + at + quotedKey.length,
      valueStart: base + at,
      valueEnd: base + at + quotedKey.length,
    });
  }
  return { annotations, errors: [] };
}

function show(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : (JSON.stringify(value) ?? String(value));
}

function conflicting(keys: readonly string[], ranges: Partial<Record<string, unknown>>): boolean {
  for (const k of keys) if (ranges[k] !== undefined) return true;
  return false;
}

/** Reads annotations into step fields, reporting unknown keys, bad values and repeats. */
export function interpretAnnotations(raw: readonly RawAnnotation[]): {
  values: StepAnnotations;
  problems: AnnotationProblem[];
  /** Source range of each annotation that was read, by canonical key. */
  ranges: Partial<Record<string, { start: number; end: number }>>;
  /** Source range of each value that was read, by canonical key (the key's range in the JSON form). */
  valueRanges: Partial<Record<string, { start: number; end: number }>>;
} {
  const values: StepAnnotations = {};
  const problems: AnnotationProblem[] = [];
  const ranges: Partial<Record<string, { start: number; end: number }>> = {};
  const valueRanges: Partial<Record<string, { start: number; end: number }>> = {};
  for (const annotation of raw) {
    const spec = annotationFor(normalizeKey(annotation.key));
    const keyRange = { start: annotation.keyStart, end: annotation.keyEnd };
    if (spec === undefined) {
      problems.push({
        ruleId: "runbook/unknown-annotation",
        message: `unknown annotation "${annotation.key}"${didYouMean(normalizeKey(annotation.key), annotationKeys)}; known annotations are ${annotationKeys.join(", ")}`,
        ...keyRange,
      });
      continue;
    }
    const key = spec.key;
    if (ranges[key] !== undefined || (spec.conflicts !== undefined && conflicting(spec.conflicts, ranges))) {
      problems.push({
        ruleId: "runbook/duplicate-annotation",
        message: `"${key}" is set more than once on this step; keep one`,
        ...keyRange,
      });
      continue;
    }
    ranges[key] = keyRange;
    valueRanges[key] = { start: annotation.valueStart, end: annotation.valueEnd };
    const expected = spec.read(annotation.value, values);
    if (expected !== undefined) {
      problems.push({
        ruleId: "runbook/invalid-value",
        message: `${key}: ${show(annotation.value)} is not valid: ${expected}`,
        start: annotation.valueStart,
        end: annotation.valueEnd,
      });
    }
  }
  return { values, problems, ranges, valueRanges };
}
