import { maxTimeoutMs } from "../schema.js";

/** Value readers the annotations (and the front matter) share. */

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

export function parseBoolean(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (typeof value !== "string") return undefined;
  const lower = value.trim().toLowerCase();
  if (lower === "true" || lower === "yes") return true;
  if (lower === "false" || lower === "no") return false;
  return undefined;
}

export function parseInteger(value: unknown, min: number, max: number): number | undefined {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^\s*\d+\s*$/.test(value)
        ? Number(value)
        : NaN;
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

export function parseEnum<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  if (typeof value !== "string") return undefined;
  const normalized = value
    .trim()
    .toLowerCase()
    .replace(/[-\s]+/g, "_");
  return (allowed as readonly string[]).includes(normalized) ? (normalized as T) : undefined;
}

export function isValidRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/** A one-line name: a non-empty string with no line break, trimmed; else undefined. */
export function parseName(value: unknown): string | undefined {
  return typeof value === "string" && value.trim().length > 0 && !/[\r\n]/.test(value)
    ? value.trim()
    : undefined;
}
