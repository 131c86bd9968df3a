/**
 * A fast reader for the small YAML subset runbook front matter is written in: `key: scalar`,
 * nested mappings by indentation, block sequences (`- item`) and one-line flow sequences
 * (`[a, "b c"]`), with plain, single- and double-quoted scalars and full-line comments.
 *
 * It returns undefined for anything outside that subset (anchors, block scalars, tabs, trailing
 * comments, duplicate keys, escapes, odd scalars…), and the caller then uses the `yaml` library,
 * so results always equal `yaml.parse`. It exists because a full YAML parse costs about as much
 * as a quarter of the Markdown parse of a typical runbook.
 */

type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

interface Line {
  indent: number;
  text: string;
}

const keyPattern = /^([A-Za-z_][A-Za-z0-9_-]*):(?: (.*))?$/;
const plainPattern = /^[A-Za-z0-9_./@+-](?:[A-Za-z0-9 _./@+()|-]*[A-Za-z0-9_./@+()|-])?$/;
const intPattern = /^[-+]?[0-9]+$/;
const floatPattern = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

export function parseSimpleYaml(text: string): Record<string, Value> | null | undefined {
  const lines: Line[] = [];
  for (const raw of text.split(/\r\n|\n/)) {
    if (raw.includes("\t") || raw.includes("\r")) return undefined;
    const trimmed = raw.trimEnd();
    const content = trimmed.trimStart();
    if (content.length === 0 || content.startsWith("#")) continue;
    if (content.includes("#") || content.startsWith("---") || content.startsWith("...")) return undefined;
    lines.push({ indent: trimmed.length - content.length, text: content });
  }
  if (lines.length === 0) return null;
  if (lines[0]!.indent !== 0) return undefined;
  const state = { i: 0 };
  const value = block(lines, state, 0);
  if (state.i !== lines.length || value === undefined || Array.isArray(value) || value === null)
    return undefined;
  if (typeof value !== "object") return undefined;
  return value;
}

function block(lines: Line[], state: { i: number }, indent: number): Value | undefined {
  const first = lines[state.i];
  if (first === undefined || first.indent !== indent) return undefined;
  if (first.text === "-" || first.text.startsWith("- ")) {
    const items: Value[] = [];
    while (state.i < lines.length && lines[state.i]!.indent === indent) {
      const line = lines[state.i]!;
      if (!line.text.startsWith("- ")) return undefined;
      const item = scalarOrFlow(line.text.slice(2).trim());
      if (item === undefined) return undefined;
      items.push(item);
      state.i++;
    }
    return items;
  }
  const map: Record<string, Value> = {};
  while (state.i < lines.length && lines[state.i]!.indent === indent) {
    const line = lines[state.i]!;
    const m = keyPattern.exec(line.text);
    if (m === null) return undefined;
    const key = m[1]!;
    if (Object.hasOwn(map, key)) return undefined;
    const rest = m[2]?.trim() ?? "";
    state.i++;
    if (rest.length > 0) {
      const value = scalarOrFlow(rest);
      if (value === undefined) return undefined;
      map[key] = value;
      continue;
    }
    const next = lines[state.i];
    if (next !== undefined && next.indent > indent) {
      const value = block(lines, state, next.indent);
      if (value === undefined) return undefined;
      map[key] = value;
    } else if (
      next !== undefined &&
      next.indent === indent &&
      (next.text === "-" || next.text.startsWith("- "))
    ) {
      // A sequence may sit at its key's own indentation.
      const value = block(lines, state, indent);
      if (value === undefined || !Array.isArray(value)) return undefined;
      map[key] = value;
    } else {
      map[key] = null;
    }
  }
  if (state.i < lines.length && lines[state.i]!.indent > indent) return undefined;
  return map;
}

function scalarOrFlow(text: string): Value | undefined {
  if (text.startsWith("[")) {
    if (!text.endsWith("]")) return undefined;
    const inner = text.slice(1, -1).trim();
    if (inner.length === 0) return [];
    const items: Value[] = [];
    for (const part of inner.split(",")) {
      const item = part.trim();
      if (item.length === 0) return undefined;
      const value = scalar(item);
      if (value === undefined || typeof value === "object") return undefined;
      items.push(value);
    }
    return items;
  }
  if (text === "{}") return {};
  return scalar(text);
}

function scalar(text: string): string | number | boolean | null | undefined {
  const c = text[0];
  if (c === '"') {
    if (text.length < 2 || !text.endsWith('"')) return undefined;
    const inner = text.slice(1, -1);
    return inner.includes('"') || inner.includes("\\") ? undefined : inner;
  }
  if (c === "'") {
    if (text.length < 2 || !text.endsWith("'")) return undefined;
    const inner = text.slice(1, -1);
    if (inner.replace(/''/g, "").includes("'")) return undefined;
    return inner.replace(/''/g, "'");
  }
  if (!plainPattern.test(text) || text.includes(" -") || text.includes("  ")) return undefined;
  if (c === "-" && (text.length === 1 || text[1] === " ")) return undefined;
  switch (text) {
    case "true":
    case "True":
    case "TRUE":
      return true;
    case "false":
    case "False":
    case "FALSE":
      return false;
    case "null":
    case "Null":
    case "NULL":
      return null;
  }
  if (intPattern.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  if (floatPattern.test(text)) return Number(text);
  // Octal, hex, infinity and NaN spellings are left to the full parser.
  if (/^[-+]?0[oxOX]|^[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$/.test(text)) return undefined;
  return text;
}
