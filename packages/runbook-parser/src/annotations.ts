import { isExecutableLanguage, normalizeLanguage } from "./internal/languages.js";
import { closestMatch, didYouMean, oneOf } from "./internal/suggest.js";
import {
  type Expect,
  type FailureAction,
  failureActions,
  maxTimeoutMs,
  type StepSeverity,
  stepSeverities,
} from "./schema.js";

/**
 * Step annotations: `(severity: high_risk, requires_approval: true)` after a list item's command,
 * `{requires_approval=true timeout=30s}` or `{"requires_approval": true}` in a fence's info string.
 */

export { isExecutableLanguage, normalizeLanguage };

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

/** The step fields annotations can set. */
export interface StepAnnotations {
  name?: string;
  language?: string;
  requiresApproval?: boolean;
  severity?: StepSeverity;
  timeoutMs?: number;
  retries?: number;
  connection?: string;
  expect?: Expect;
  onFailure?: FailureAction;
  idempotent?: boolean;
  /** The command that undoes the step when the session rolls back (trimmed, not yet checked for templates). */
  compensate?: string;
}

export interface AnnotationProblem {
  ruleId: "runbook/unknown-annotation" | "runbook/invalid-value" | "runbook/duplicate-annotation";
  message: string;
  start: number;
  end: number;
}

/** Every annotation key, as the formatter writes it. */
export const annotationKeys = [
  "name",
  "language",
  "severity",
  "requires_approval",
  "timeout",
  "retries",
  "connection",
  "expect",
  "expect_exit_code",
  "expect_output",
  "on_failure",
  "idempotent",
  "compensate",
] as const;
export type AnnotationKey = (typeof annotationKeys)[number];

const aliases: Record<string, AnnotationKey> = {
  lang: "language",
  risk: "severity",
  approval_required: "requires_approval",
  retry: "retries",
  exit_code: "expect_exit_code",
  expect_exitcode: "expect_exit_code",
  compensation: "compensate",
  undo: "compensate",
};

/** `requiresApproval`, `requires-approval` and `Requires_Approval` all mean `requires_approval`. */
const normalizedKeys = new Map<string, string>();
export function normalizeKey(key: string): string {
  const cached = normalizedKeys.get(key);
  if (cached !== undefined) return cached;
  const normalized = key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[-\s]+/g, "_");
  if (normalizedKeys.size < 1000) normalizedKeys.set(key, normalized);
  return normalized;
}

function canonicalKey(key: string): AnnotationKey | undefined {
  const normalized = normalizeKey(key);
  if ((annotationKeys as readonly string[]).includes(normalized)) return normalized as AnnotationKey;
  return aliases[normalized];
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

/** Milliseconds per unit; a bare number is seconds. */
const durationUnits: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
};

/**
 * `30s`, `5m`, `1500ms`, `1h30m`, or a bare number of seconds (`30`), to milliseconds. Undefined
 * when it is not a positive duration of whole milliseconds within Node's timer limit.
 */
export function parseDuration(value: unknown): number | undefined {
  let ms: number;
  if (typeof value === "number") {
    ms = value * 1000;
  } else if (typeof value === "string") {
    const text = value.trim().toLowerCase();
    if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
    else {
      const part = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*/gy;
      ms = 0;
      let matched = 0;
      let m: RegExpExecArray | null = part.exec(text);
      while (m !== null) {
        const unit = durationUnits[m[2]!];
        if (unit === undefined) return undefined;
        ms += Number(m[1]) * unit;
        matched = part.lastIndex;
        m = part.exec(text);
      }
      if (matched === 0 || matched !== text.length) return undefined;
    }
  } else {
    return undefined;
  }
  if (!Number.isFinite(ms) || ms <= 0 || ms > maxTimeoutMs) return undefined;
  const rounded = Math.round(ms);
  return Math.abs(rounded - ms) < 1e-6 ? rounded : undefined;
}

/** The shortest exact spelling of a duration: `90s` is `90s`, `120000` ms is `2m`. */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function parseBoolean(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (typeof value !== "string") return undefined;
  const lower = value.trim().toLowerCase();
  if (lower === "true" || lower === "yes") return true;
  if (lower === "false" || lower === "no") return false;
  return undefined;
}

function parseInteger(value: unknown, min: number, max: number): number | undefined {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^\s*\d+\s*$/.test(value)
        ? Number(value)
        : NaN;
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

function parseEnum<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  if (typeof value !== "string") return undefined;
  const normalized = value
    .trim()
    .toLowerCase()
    .replace(/[-\s]+/g, "_");
  return (allowed as readonly string[]).includes(normalized) ? (normalized as T) : undefined;
}

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

function show(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : (JSON.stringify(value) ?? String(value));
}

/** Reads annotations into step fields, reporting unknown keys, bad values and repeats. */
export function interpretAnnotations(raw: readonly RawAnnotation[]): {
  values: StepAnnotations;
  problems: AnnotationProblem[];
  /** Source range of each annotation that was read, by canonical key. */
  ranges: Partial<Record<AnnotationKey, { start: number; end: number }>>;
  /** Source range of each value that was read, by canonical key (the key's range in the JSON form). */
  valueRanges: Partial<Record<AnnotationKey, { start: number; end: number }>>;
} {
  const values: StepAnnotations = {};
  const problems: AnnotationProblem[] = [];
  const ranges: Partial<Record<AnnotationKey, { start: number; end: number }>> = {};
  const valueRanges: Partial<Record<AnnotationKey, { start: number; end: number }>> = {};
  for (const annotation of raw) {
    const key = canonicalKey(annotation.key);
    const keyRange = { start: annotation.keyStart, end: annotation.keyEnd };
    if (key === undefined) {
      problems.push({
        ruleId: "runbook/unknown-annotation",
        message: `unknown annotation "${annotation.key}"${didYouMean(normalizeKey(annotation.key), annotationKeys)}; known annotations are ${annotationKeys.join(", ")}`,
        ...keyRange,
      });
      continue;
    }
    const repeated =
      ranges[key] !== undefined ||
      (key === "expect" && (ranges.expect_exit_code !== undefined || ranges.expect_output !== undefined)) ||
      ((key === "expect_exit_code" || key === "expect_output") && ranges.expect !== undefined);
    if (repeated) {
      problems.push({
        ruleId: "runbook/duplicate-annotation",
        message: `"${key}" is set more than once on this step; keep one`,
        ...keyRange,
      });
      continue;
    }
    ranges[key] = keyRange;
    valueRanges[key] = { start: annotation.valueStart, end: annotation.valueEnd };
    const bad = (expected: string) =>
      problems.push({
        ruleId: "runbook/invalid-value",
        message: `${key}: ${show(annotation.value)} is not valid: ${expected}`,
        start: annotation.valueStart,
        end: annotation.valueEnd,
      });
    const value = annotation.value;
    switch (key) {
      case "name": {
        if (typeof value === "string" && value.trim().length > 0 && !/[\r\n]/.test(value))
          values.name = value.trim();
        else bad("expected a non-empty step name");
        break;
      }
      case "language": {
        const language = typeof value === "string" ? normalizeLanguage(value.trim()) : "";
        if (/^[a-z0-9][a-z0-9_+.-]*$/.test(language) && isExecutableLanguage(language))
          values.language = language;
        else bad("expected the language of the command, such as sh, sql, http or powershell");
        break;
      }
      case "severity": {
        const severity = parseEnum(value, stepSeverities);
        if (severity !== undefined) values.severity = severity;
        else
          bad(
            `expected ${oneOf(stepSeverities)}${
              typeof value === "string"
                ? didYouMean(
                    value
                      .trim()
                      .toLowerCase()
                      .replace(/[-\s]+/g, "_"),
                    stepSeverities,
                  )
                : ""
            }`,
          );
        break;
      }
      case "requires_approval":
      case "idempotent": {
        const flag = parseBoolean(value);
        if (flag === undefined) bad("expected true or false");
        else if (key === "idempotent") values.idempotent = flag;
        else values.requiresApproval = flag;
        break;
      }
      case "timeout": {
        const ms = parseDuration(value);
        if (ms !== undefined) values.timeoutMs = ms;
        else bad("expected a duration such as 30s, 5m, 1500ms or 30 (seconds), at most 24 days");
        break;
      }
      case "retries": {
        const retries = parseInteger(value, 0, 100);
        if (retries !== undefined) values.retries = retries;
        else bad("expected a whole number from 0 to 100");
        break;
      }
      case "connection": {
        if (typeof value === "string" && value.trim().length > 0 && !/[\r\n]/.test(value))
          values.connection = value.trim();
        else bad("expected the name of an infrastructure connection, such as prod-db-01");
        break;
      }
      case "on_failure": {
        const action = parseEnum(value, failureActions);
        if (action !== undefined) values.onFailure = action;
        else
          bad(
            `expected ${oneOf(failureActions)}${typeof value === "string" ? didYouMean(value.trim().toLowerCase(), failureActions) : ""}`,
          );
        break;
      }
      case "expect_exit_code": {
        const code = parseInteger(value, 0, 255);
        if (code !== undefined) values.expect = { ...values.expect, exitCode: code };
        else bad("expected an exit code from 0 to 255");
        break;
      }
      case "expect_output": {
        if (typeof value === "string" && value.length > 0 && isValidRegex(value))
          values.expect = { ...values.expect, output: value };
        else bad("expected a regular expression the output must match");
        break;
      }
      case "expect": {
        const expect = parseExpect(value);
        if (typeof expect === "string") bad(expect);
        else values.expect = expect;
        break;
      }
      case "compensate": {
        if (typeof value === "string" && value.trim().length > 0) values.compensate = value.trim();
        else
          bad(
            'expected the command that undoes this step, such as compensate: "systemctl start {{ ticket.service }}"',
          );
        break;
      }
    }
  }
  return { values, problems, ranges, valueRanges };
}

/** `expect: 0` (exit code), `expect: /ok/` (output pattern), or JSON `{"exit_code": 0, "output": "ok"}`. */
function parseExpect(value: unknown): Expect | string {
  const usage =
    "expected an exit code (expect: 0), an output pattern (expect: /ready/), or both as expect_exit_code and expect_output";
  if (typeof value === "number" || (typeof value === "string" && /^\s*\d+\s*$/.test(value))) {
    const code = parseInteger(value, 0, 255);
    return code === undefined ? "expected an exit code from 0 to 255" : { exitCode: code };
  }
  if (typeof value === "string") {
    const text = value.trim();
    const source = text.length >= 2 && text.startsWith("/") && text.endsWith("/") ? text.slice(1, -1) : text;
    if (source.length === 0) return usage;
    return isValidRegex(source) ? { output: source } : `"${source}" is not a valid regular expression`;
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const expect: Expect = {};
    for (const [k, v] of Object.entries(value)) {
      const key = normalizeKey(k);
      if (key === "exit_code") {
        const code = parseInteger(v, 0, 255);
        if (code === undefined) return "expected exit_code to be a number from 0 to 255";
        expect.exitCode = code;
      } else if (key === "output") {
        if (typeof v !== "string" || v.length === 0 || !isValidRegex(v))
          return "expected output to be a regular expression";
        expect.output = v;
      } else {
        return `unknown field "${k}" in expect: use exit_code and output`;
      }
    }
    return expect;
  }
  return usage;
}
