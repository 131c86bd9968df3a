/**
 * SQL results for people and for the record: JSON-safe rows, and a small text table for stdout
 * (like psql's), with control characters escaped so hostile data cannot paint the terminal.
 */

/**
 * Makes a driver value JSON-safe, recursively: `Date` as an ISO string (an invalid one as
 * `String(date)`), a `Buffer` as `\x…` hex, a bigint as its decimal string, `undefined` as `null`.
 */
export function jsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString("hex")}`;
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, jsonSafe(v)]),
    );
  }
  return value;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: escaping them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

function cell(value: unknown, width: number): string {
  const text =
    value === null || value === undefined
      ? ""
      : typeof value === "object"
        ? JSON.stringify(value)
        : String(value);
  const escaped = text.replace(CONTROL, (c) =>
    c === "\n" ? "\\n" : c === "\t" ? "\\t" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return escaped.length > width ? `${escaped.slice(0, width - 1)}…` : escaped;
}

/** Limits for {@link renderTable}. */
export interface RenderTableOptions {
  /** Rows rendered; the rest are counted. Default 50. */
  maxRows?: number;
  /** Characters a cell; a longer one ends in `…`. Default 60. */
  maxWidth?: number;
}

/**
 * Renders rows as an aligned text table like psql's, at most `maxRows` rows and `maxWidth`
 * characters a cell, followed by `(N rows)` (`(N rows, M shown)` when `total` is more than the
 * rows shown). Control characters are escaped (`\n`, `\t`, `\x1b`), so hostile data cannot
 * paint the approver's terminal.
 *
 * @example
 * renderTable(["id", "name"], [{ id: 1, name: "alpha" }], 1);
 * // "id | name\n---+------\n1  | alpha\n(1 row)\n"
 */
export function renderTable(
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
  total: number,
  { maxRows = 50, maxWidth = 60 }: RenderTableOptions = {},
): string {
  const shown = rows.slice(0, maxRows).map((row) => columns.map((c) => cell(row[c], maxWidth)));
  const header = columns.map((c) => cell(c, maxWidth));
  const widths = header.map((h, i) => Math.max(h.length, ...shown.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join(" | ")
      .trimEnd();
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("-+-"), ...shown.map(line)];
  const more = total > shown.length ? `, ${shown.length} shown` : "";
  out.push(`(${total} ${total === 1 ? "row" : "rows"}${more})`);
  return `${out.join("\n")}\n`;
}
