/**
 * Streaming CSV reading for ticket imports, on csv-parse: BOM, CRLF, quoted newlines and commas,
 * a case-insensitive header, and one verdict per data row (a ticket input, or the reason it was
 * refused) with its 1-based data row number and the line it starts on.
 */
import { Readable } from "node:stream";
import { type CsvError, type Info, parse } from "csv-parse";
import type { TicketSeverity } from "../domain.js";
import { rwError } from "../errors.js";

/** The columns the connector guide documents, in template order. */
export const csvColumns = ["title", "description", "severity", "environment", "service", "source"] as const;
/** Also understood: the source tool's id for the ticket, and its fingerprint. */
const optionalColumns = ["external_id", "fingerprint"] as const;
type KnownColumn = (typeof csvColumns)[number] | (typeof optionalColumns)[number];

/** Field limits, the same as TicketInput's. */
export const csvLimits = {
  title: 500,
  description: 20_000,
  environment: 64,
  service: 128,
  source: 64,
  external_id: 256,
  fingerprint: 256,
  severity: 40,
  /** An extra column's value, kept in metaData. */
  extra: 2_000,
} as const;

/** A record larger than this stops the import: csv-parse cannot resynchronise after it. */
export const maxRecordBytes = 4 * 1024 * 1024;

/** Anything the importer reads from. */
export type CsvSource = string | Buffer | Uint8Array | Readable | AsyncIterable<string | Buffer | Uint8Array>;

export interface CsvRowInput {
  title: string;
  description: string;
  severity: TicketSeverity;
  environment: string;
  service: string;
  source: string;
  externalId: string | undefined;
  fingerprint: string | undefined;
  metaData: Record<string, unknown>;
}

export type CsvVerdict =
  | { ok: true; row: number; line: number; input: CsvRowInput }
  | { ok: false; row: number; line: number; reason: string };

export interface CsvReadOptions {
  /** The source for rows without a `source` value. */
  defaultSource: string;
  /** Maps a severity spelling onto the scale; undefined when unknown (the row is refused). */
  severity(raw: string): TicketSeverity | undefined;
}

interface HeaderMap {
  /** Column index of each known column. */
  known: Partial<Record<KnownColumn, number>>;
  /** Extra columns: index and metaData key. */
  extra: { index: number; name: string }[];
  width: number;
}

const chunkSize = 64 * 1024;

function* chunksOf(data: string | Uint8Array): Generator<string | Uint8Array> {
  for (let at = 0; at < data.length; at += chunkSize) {
    yield typeof data === "string" ? data.slice(at, at + chunkSize) : data.subarray(at, at + chunkSize);
  }
}

function toReadable(source: CsvSource): Readable {
  if (typeof source === "string" || source instanceof Uint8Array)
    return Readable.from(chunksOf(source), { objectMode: false });
  if (source instanceof Readable) return source;
  if (source && typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") {
    return Readable.from(source, { objectMode: false });
  }
  throw rwError(
    "RW_ERR_INPUT_INVALID",
    "a CSV source must be a string, a Buffer, a Readable or an async iterable",
    {
      details: { fields: [{ field: "source", message: "unsupported type" }] },
    },
  );
}

function readHeader(fields: readonly string[]): HeaderMap {
  const known: HeaderMap["known"] = {};
  const extra: HeaderMap["extra"] = [];
  const seen = new Set<string>();
  const names = new Set<string>([...csvColumns, ...optionalColumns]);
  fields.forEach((raw, index) => {
    const name = raw
      .trim()
      .toLowerCase()
      .replace(/[\s-]+/g, "_");
    if (seen.has(name) && name !== "") {
      throw rwError("RW_ERR_INPUT_CSV_HEADER", `the CSV header names the column "${name}" twice`, {
        details: { header: fields.slice(0, 50), column: name },
      });
    }
    seen.add(name);
    if (names.has(name)) known[name as KnownColumn] = index;
    else extra.push({ index, name: raw.trim() || `column_${index + 1}` });
  });
  if (known.title === undefined) {
    throw rwError(
      "RW_ERR_INPUT_CSV_HEADER",
      `the CSV header has no "title" column; expected ${csvColumns.join(",")} (download the template)`,
      { details: { header: fields.slice(0, 50), expected: csvColumns } },
    );
  }
  return { known, extra, width: fields.length };
}

/**
 * Reads a ticket CSV, calling `onRow` for each data row in order (awaiting it: backpressure).
 * Throws RW_ERR_INPUT_CSV_HEADER before any row when the header has no `title` column or the
 * file is empty.
 */
export async function readTicketCsv(
  source: CsvSource,
  options: CsvReadOptions,
  onRow: (verdict: CsvVerdict) => void | Promise<void>,
): Promise<void> {
  const parser = parse({
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: maxRecordBytes,
    info: true,
  });
  const input = toReadable(source);
  let sourceError: unknown;
  input.on("error", (err) => {
    sourceError = err;
    parser.destroy(err);
  });
  input.pipe(parser);

  let header: HeaderMap | undefined;
  let row = 0;
  let endLine = 0;
  let emptyLines = 0;
  /**
   * Records csv-parse refused, with how many records it had emitted before each: skip events fire
   * while earlier records still wait in the stream's buffer, so they are reported in their place.
   */
  const skipped: { records: number; lines: number; code: string }[] = [];
  let fatal: unknown;
  parser.on("skip", (err: CsvError & { lines?: number; records?: number }) => {
    if (err.code === "CSV_MAX_RECORD_SIZE") {
      fatal = rwError(
        "RW_ERR_INPUT_TOO_LARGE",
        `a record near line ${err.lines ?? "?"} is larger than ${maxRecordBytes} bytes; the import stopped there`,
        { details: { line: err.lines ?? null, limit: maxRecordBytes } },
      );
      parser.destroy();
      return;
    }
    skipped.push({ records: err.records ?? 0, lines: err.lines ?? 0, code: err.code });
  });
  const flushSkipped = async (before: number) => {
    while (skipped.length > 0 && (skipped[0]?.records ?? 0) < before) {
      const err = skipped.shift() as (typeof skipped)[number];
      const line = endLine + 1;
      endLine = Math.max(endLine, err.lines);
      if (header) await onRow({ ok: false, row: ++row, line, reason: csvErrorReason(err.code) });
    }
  };

  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: Info }>) {
      const { record, info } = item;
      if (skipped.length > 0) await flushSkipped(info.records);
      const startLine = endLine + 1 + (info.empty_lines - emptyLines);
      endLine = info.lines;
      emptyLines = info.empty_lines;
      if (!header) {
        header = readHeader(record);
        continue;
      }
      await onRow(readRow(record, header, ++row, startLine, options));
    }
  } catch (err) {
    if (fatal) throw fatal;
    throw sourceError ?? err;
  }
  if (fatal) throw fatal;
  if (sourceError) throw sourceError;
  await flushSkipped(Number.POSITIVE_INFINITY);
  if (!header) {
    throw rwError(
      "RW_ERR_INPUT_CSV_HEADER",
      "the CSV file is empty: it needs a header row with a title column",
      {
        details: { expected: csvColumns },
      },
    );
  }
}

function csvErrorReason(code: string): string {
  switch (code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return "a quoted field is never closed";
    case "CSV_INVALID_CLOSING_QUOTE":
      return "a quote inside a quoted field is not doubled";
    default:
      return `the record cannot be read (${code})`;
  }
}

function readRow(
  record: readonly string[],
  header: HeaderMap,
  row: number,
  line: number,
  options: CsvReadOptions,
): CsvVerdict {
  const fail = (reason: string): CsvVerdict => ({ ok: false, row, line, reason });
  if (record.length !== header.width) {
    return fail(`expected ${header.width} field${header.width === 1 ? "" : "s"}, found ${record.length}`);
  }
  for (const field of record) {
    if (field.includes("\uFFFD")) return fail("the row is not valid UTF-8");
  }
  const { known } = header;
  const get = (column: KnownColumn): string => {
    const at = known[column];
    return at === undefined ? "" : (record[at] ?? "").trim();
  };
  const title = get("title");
  if (title === "") return fail("title is required");
  const problems: string[] = [];
  const limited = (column: KnownColumn, value: string) => {
    const max = csvLimits[column];
    if (value.length > max) problems.push(`${column} is longer than ${max} characters (${value.length})`);
    return value;
  };
  limited("title", title);
  const description = limited(
    "description",
    known.description === undefined ? "" : (record[known.description] ?? ""),
  );
  const environment = limited("environment", get("environment"));
  const service = limited("service", get("service"));
  const source = limited("source", get("source")) || options.defaultSource;
  const externalId = limited("external_id", get("external_id"));
  const fingerprint = limited("fingerprint", get("fingerprint"));
  const rawSeverity = get("severity");
  const severity: TicketSeverity | undefined = rawSeverity === "" ? "medium" : options.severity(rawSeverity);
  if (severity === undefined) {
    problems.push(`unknown severity "${rawSeverity.slice(0, 40)}" (use critical, high, medium, low or info)`);
  }
  const metaData: Record<string, unknown> = {};
  for (const { index, name } of header.extra) {
    const value = record[index] ?? "";
    if (value.length > csvLimits.extra)
      problems.push(`column "${name}" is longer than ${csvLimits.extra} characters`);
    else if (value !== "") metaData[name] = value;
  }
  if (problems.length > 0 || severity === undefined) return fail(problems.join("; "));
  return {
    ok: true,
    row,
    line,
    input: {
      title,
      description,
      severity,
      environment,
      service,
      source,
      externalId: externalId || undefined,
      fingerprint: fingerprint || undefined,
      metaData,
    },
  };
}

/** The template the connector guide describes: the header and one example row. */
export function csvTemplate(): string {
  return `${csvColumns.join(",")}\nDatabase connection timeout,Unable to connect to PostgreSQL,high,prod,database,prometheus\n`;
}
