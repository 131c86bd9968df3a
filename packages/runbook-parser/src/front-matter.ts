import { isMap, isPair, isScalar, parseDocument, type Node as YamlNode } from "yaml";
import { z } from "zod";
import { formatDuration, parseDuration } from "./annotations/values.js";
import { normalizeKey } from "./internal/keys.js";
import { parseSimpleYaml } from "./internal/simple-yaml.js";
import type { Reporter, Source } from "./internal/source.js";
import { didYouMean, oneOf } from "./internal/suggest.js";
import { type RunbookMetadata, runbookStatuses, ticketSeverities } from "./schema.js";

/**
 * YAML front matter: snake_case keys in the Markdown (`auto_execute`), camelCase in the parsed
 * metadata (`autoExecute`). `FrontMatterSchema` checks the YAML as written and turns it into
 * {@link RunbookMetadata}.
 */

const frontMatterKeys = [
  "id",
  "version",
  "status",
  "match",
  "connection",
  "timeout",
  "variables",
  "auto_execute",
  "ticket_connections",
];
const matchKeys = [
  "services",
  "environments",
  "severities",
  "sources",
  "keywords",
  "title_pattern",
  "description_pattern",
];

const ticketConnectionKeys = ["types", "names"];
/** Keys whose value is a mapping with known keys of its own: unknown inner keys are warned about. */
const nestedKeys: Readonly<Record<string, readonly string[]>> = {
  match: matchKeys,
  ticket_connections: ticketConnectionKeys,
};

const stringList = z
  .union([z.string(), z.array(z.union([z.string(), z.number()]))], {
    error: "must be a list of strings, such as [db, api]",
  })
  .transform((v) => (Array.isArray(v) ? v.map(String) : [v]));

const regex = z.string({ error: "must be a regular expression in a string" }).refine(
  (source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  },
  { error: "is not a valid regular expression" },
);

const lowerCase = (v: unknown) => (typeof v === "string" ? v.trim().toLowerCase() : v);

/** The front matter as written in YAML, turned into {@link RunbookMetadata}. */
export const FrontMatterSchema = z
  .object({
    id: z
      .union([z.string().trim().min(1), z.number()], { error: "must be a string, such as fix-db-connection" })
      .transform(String)
      .optional(),
    version: z.number({ error: "must be a whole number of 1 or more" }).int().min(1).optional(),
    status: z
      .preprocess(lowerCase, z.enum(runbookStatuses, { error: `must be ${oneOf(runbookStatuses)}` }))
      .optional(),
    match: z
      .object(
        {
          services: stringList.optional(),
          environments: stringList.optional(),
          severities: z
            .preprocess(
              (v) => (typeof v === "string" ? [v] : v),
              z.array(
                z.preprocess(
                  lowerCase,
                  z.enum(ticketSeverities, { error: `must be ${oneOf(ticketSeverities)}` }),
                ),
                {
                  error: `must be a list of ${oneOf(ticketSeverities)}`,
                },
              ),
            )
            .optional(),
          sources: stringList.optional(),
          keywords: stringList.optional(),
          title_pattern: regex.optional(),
          description_pattern: regex.optional(),
        },
        { error: "must be a mapping of services, environments, severities, sources, keywords and patterns" },
      )
      .optional(),
    connection: z
      .string({ error: "must be the name of an infrastructure connection" })
      .trim()
      .min(1)
      .optional(),
    timeout: z
      .union([z.string(), z.number()], { error: "must be a duration such as 30s, 5m or 1500ms" })
      .transform((v, ctx) => {
        const ms = parseDuration(v);
        if (ms === undefined) {
          ctx.addIssue({
            code: "custom",
            message: `${JSON.stringify(v)} is not a duration: use 30s, 5m, 1500ms or 30 (seconds), at most 24 days`,
          });
          return z.NEVER;
        }
        return ms;
      })
      .optional(),
    variables: z
      .record(
        z.string(),
        z
          .union([z.string(), z.number(), z.boolean()], { error: "must be a string, number or boolean" })
          .transform(String),
        { error: "must be a mapping of names to default values" },
      )
      .optional(),
    auto_execute: z.boolean({ error: "must be true or false" }).optional(),
    ticket_connections: z
      .object(
        {
          types: z
            .preprocess(
              (v) => (typeof v === "string" ? [v] : v),
              z.array(z.preprocess(lowerCase, z.string().min(1)), {
                error: "must be a list of connection types, such as [ssh, winrm]",
              }),
            )
            .optional(),
          names: z
            .preprocess(
              (v) => (typeof v === "string" ? [v] : v),
              z.array(z.string().trim().min(1), {
                error: "must be a list of connection names, such as [web-01, web-02]",
              }),
            )
            .optional(),
        },
        {
          error:
            "must be a mapping of types and names, such as { types: [ssh], names: [web-01] }: the connections a ticket's connection_config may choose",
        },
      )
      .refine((t) => (t.types?.length ?? 0) + (t.names?.length ?? 0) > 0, {
        error:
          "must name at least one connection type (types) or connection (names) a ticket may choose; remove it to ignore tickets' connection_config",
      })
      .optional(),
  })
  .transform((fm): RunbookMetadata => {
    const metadata: RunbookMetadata = {};
    if (fm.id !== undefined) metadata.id = fm.id;
    if (fm.version !== undefined) metadata.version = fm.version;
    if (fm.status !== undefined) metadata.status = fm.status;
    if (fm.match !== undefined) {
      const m = fm.match;
      const match: NonNullable<RunbookMetadata["match"]> = {};
      if (m.services !== undefined) match.services = m.services;
      if (m.environments !== undefined) match.environments = m.environments;
      if (m.severities !== undefined) match.severities = m.severities;
      if (m.sources !== undefined) match.sources = m.sources;
      if (m.keywords !== undefined) match.keywords = m.keywords;
      if (m.title_pattern !== undefined) match.titlePattern = m.title_pattern;
      if (m.description_pattern !== undefined) match.descriptionPattern = m.description_pattern;
      metadata.match = match;
    }
    if (fm.connection !== undefined) metadata.connection = fm.connection;
    if (fm.timeout !== undefined) metadata.timeoutMs = fm.timeout;
    if (fm.variables !== undefined) metadata.variables = fm.variables;
    if (fm.auto_execute !== undefined) metadata.autoExecute = fm.auto_execute;
    if (fm.ticket_connections !== undefined) {
      const t = fm.ticket_connections;
      metadata.ticketConnections = {
        ...(t.types !== undefined && t.types.length > 0 ? { types: t.types } : {}),
        ...(t.names !== undefined && t.names.length > 0 ? { names: t.names } : {}),
      };
    }
    return metadata;
  });

/** Metadata back in its front matter spelling (snake_case keys, `30s` durations), for YAML output. */
export function toFrontMatter(metadata: RunbookMetadata): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (metadata.id !== undefined) out.id = metadata.id;
  if (metadata.version !== undefined) out.version = metadata.version;
  if (metadata.status !== undefined) out.status = metadata.status;
  if (metadata.match !== undefined) {
    const m = metadata.match;
    const match: Record<string, unknown> = {};
    if (m.services !== undefined) match.services = m.services;
    if (m.environments !== undefined) match.environments = m.environments;
    if (m.severities !== undefined) match.severities = m.severities;
    if (m.sources !== undefined) match.sources = m.sources;
    if (m.keywords !== undefined) match.keywords = m.keywords;
    if (m.titlePattern !== undefined) match.title_pattern = m.titlePattern;
    if (m.descriptionPattern !== undefined) match.description_pattern = m.descriptionPattern;
    out.match = match;
  }
  if (metadata.connection !== undefined) out.connection = metadata.connection;
  if (metadata.timeoutMs !== undefined) out.timeout = formatDuration(metadata.timeoutMs);
  if (metadata.variables !== undefined) out.variables = metadata.variables;
  if (metadata.autoExecute !== undefined) out.auto_execute = metadata.autoExecute;
  if (metadata.ticketConnections !== undefined) out.ticket_connections = metadata.ticketConnections;
  return out;
}

/**
 * Reads the front matter node (`---` … `---` at offset 0 to `end`) into metadata, reporting YAML
 * syntax errors, unknown keys and bad values at their line and column in the document.
 */
export function readFrontMatter(
  source: Source,
  end: number,
  report: Pick<Reporter, "error" | "warn">,
): RunbookMetadata | undefined {
  const { contentStart, closingLine, content } = frontMatterContent(source.text, end);
  // Fast path: plain front matter with known keys and good values needs no full YAML parse.
  const simple = parseSimpleYaml(content);
  if (simple === null) return {};
  if (simple !== undefined) {
    const input = knownKeysOnly(simple);
    const parsed = input && FrontMatterSchema.safeParse(input);
    if (parsed?.success) return parsed.data;
  }
  const doc = parseDocument(content, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const at = contentStart + (error.pos[0] ?? 0);
      report.error(
        "runbook/invalid-front-matter",
        `front matter is not valid YAML: ${firstLine(error.message)}`,
        at,
        contentStart + (error.pos[1] ?? 0),
      );
    }
    return undefined;
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value) || !isMap(doc.contents)) {
    report.error(
      "runbook/invalid-front-matter",
      "front matter must be a YAML mapping of keys such as id, version, status and match",
      contentStart,
      closingLine,
    );
    return undefined;
  }
  const input: Record<string, unknown> = {};
  /** Normalized key → key as written, so a bad value is located even when spelt `autoExecute`. */
  const written = new Map<string, string>();
  for (const pair of doc.contents.items) {
    const rawKey = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const key = normalizeKey(rawKey);
    const keyRange = rangeOf(pair.key as YamlNode | null);
    if (!frontMatterKeys.includes(key)) {
      report.warn(
        "runbook/unknown-metadata",
        `unknown front matter key "${rawKey}"${didYouMean(key, frontMatterKeys)}; it is ignored (known keys: ${frontMatterKeys.join(", ")})`,
        contentStart + (keyRange?.[0] ?? 0),
        contentStart + (keyRange?.[1] ?? 0),
      );
      continue;
    }
    written.set(key, rawKey);
    let v: unknown = (value as Record<string, unknown>)[rawKey];
    const innerKeys = nestedKeys[key];
    if (innerKeys && isMap(pair.value) && v !== null && typeof v === "object") {
      const nested: Record<string, unknown> = {};
      for (const inner of pair.value.items) {
        const rawInner = isScalar(inner.key) ? String(inner.key.value) : String(inner.key);
        const innerKey = normalizeKey(rawInner);
        const innerRange = rangeOf(inner.key as YamlNode | null);
        if (!innerKeys.includes(innerKey)) {
          report.warn(
            "runbook/unknown-metadata",
            `unknown key "${rawInner}" in ${key}${didYouMean(innerKey, innerKeys)}; it is ignored (known keys: ${innerKeys.join(", ")})`,
            contentStart + (innerRange?.[0] ?? 0),
            contentStart + (innerRange?.[1] ?? 0),
          );
          continue;
        }
        written.set(`${key}.${innerKey}`, rawInner);
        nested[innerKey] = (v as Record<string, unknown>)[rawInner];
      }
      v = nested;
    }
    input[key] = v;
  }
  const parsed = FrontMatterSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
    const yamlPath = path.map((p, i) =>
      i === 0
        ? (written.get(String(p)) ?? p)
        : i === 1 && nestedKeys[String(path[0])]
          ? (written.get(`${String(path[0])}.${String(p)}`) ?? p)
          : p,
    );
    const range = locate(doc, yamlPath) ?? [0, 0];
    report.error(
      "runbook/invalid-value",
      `front matter ${path.join(".")} ${issue.message.replace(/^Invalid input: /, "")}`,
      contentStart + range[0],
      contentStart + range[1],
    );
  }
  return undefined;
}

/** The YAML between the front matter's `---` lines, and where it starts and ends. */
function frontMatterContent(
  text: string,
  end: number,
): { contentStart: number; closingLine: number; content: string } {
  const firstBreak = text.indexOf("\n", 0);
  const contentStart = firstBreak === -1 || firstBreak >= end ? end : firstBreak + 1;
  const closingLine = lastLineStart(text, end);
  const content = contentStart < closingLine ? text.slice(contentStart, closingLine) : "";
  return { contentStart, closingLine, content };
}

/**
 * The source range of the front matter value at `path` (keys in any spelling `normalizeKey`
 * accepts, such as `["match", "title_pattern"]`), or undefined. Parses the YAML again: for rules
 * that report on a value the reader accepted.
 */
export function locateFrontMatterValue(
  source: Source,
  end: number,
  path: readonly string[],
): { start: number; end: number } | undefined {
  const { contentStart, content } = frontMatterContent(source.text, end);
  const doc = parseDocument(content, { prettyErrors: false });
  let node: unknown = doc.contents;
  for (const key of path) {
    if (!isMap(node)) return undefined;
    const pair = node.items.find((p) => isScalar(p.key) && normalizeKey(String(p.key.value)) === key);
    if (pair === undefined) return undefined;
    node = pair.value;
  }
  const range = rangeOf(node as YamlNode | null);
  return range ? { start: contentStart + range[0], end: contentStart + range[1] } : undefined;
}

/** The front matter with keys normalized, or undefined if any key is unknown (the slow path reports it). */
function knownKeysOnly(raw: Record<string, unknown>): Record<string, unknown> | undefined {
  const input: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(raw)) {
    const key = normalizeKey(rawKey);
    if (!frontMatterKeys.includes(key) || Object.hasOwn(input, key)) return undefined;
    const innerKeys = nestedKeys[key];
    if (innerKeys && value !== null && typeof value === "object" && !Array.isArray(value)) {
      const nested: Record<string, unknown> = {};
      for (const [rawInner, inner] of Object.entries(value)) {
        const innerKey = normalizeKey(rawInner);
        if (!innerKeys.includes(innerKey) || Object.hasOwn(nested, innerKey)) return undefined;
        nested[innerKey] = inner;
      }
      input[key] = nested;
    } else input[key] = value;
  }
  return input;
}

function firstLine(message: string): string {
  const line = message.split("\n")[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, "");
}

function lastLineStart(text: string, end: number): number {
  let i = end - 1;
  while (i > 0 && text[i - 1] !== "\n" && text[i - 1] !== "\r") i--;
  return Math.max(0, i);
}

function rangeOf(node: YamlNode | null | undefined): [number, number] | undefined {
  const range = node?.range;
  return range ? [range[0], range[1]] : undefined;
}

/** The source range of the YAML node at `path` (snake_case keys), or of its nearest ancestor. */
function locate(
  doc: ReturnType<typeof parseDocument>,
  path: (string | number)[],
): [number, number] | undefined {
  for (let n = path.length; n > 0; n--) {
    const prefix = path.slice(0, n);
    const node = doc.getIn(prefix, true) as YamlNode | undefined;
    const range = rangeOf(node);
    if (range) return range;
    // A key whose value is empty (`status:`): point at the key.
    const parent = n === 1 ? doc.contents : (doc.getIn(prefix.slice(0, -1), true) as YamlNode | undefined);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === prefix[n - 1]);
      const keyRange = rangeOf(pair?.key as YamlNode | null);
      if (keyRange) return keyRange;
    }
  }
  return undefined;
}
