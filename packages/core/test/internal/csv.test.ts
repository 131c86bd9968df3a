import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { normalizeSeverity } from "../../src/analyzer/normalize.js";
import { isRunwardenError } from "../../src/errors.js";
import { type CsvVerdict, readTicketCsv } from "../../src/internal/csv.js";
import { loadSampleRunbooks, makeIntake } from "../support/engine-context.js";

const header = "title,description,severity,environment,service,source";

async function verdicts(source: Parameters<typeof readTicketCsv>[0]): Promise<CsvVerdict[]> {
  const out: CsvVerdict[] = [];
  await readTicketCsv(source, { defaultSource: "csv", severity: normalizeSeverity }, (v) => void out.push(v));
  return out;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isRunwardenError(err)) return err.code;
    throw err;
  }
  return "no error";
}

describe("readTicketCsv", () => {
  it("reads BOM, CRLF, quoted commas and newlines when the file has them", async () => {
    const text = `\uFEFF${header}\r\n"Disk, full","line one\r\nline two",HIGH,Production,nginx,\r\n`;
    const [row] = await verdicts(text);
    expect(row).toEqual({
      ok: true,
      row: 1,
      line: 2,
      input: expect.objectContaining({
        title: "Disk, full",
        description: "line one\r\nline two",
        severity: "high",
        environment: "Production",
        source: "csv",
      }),
    });
  });

  it("maps a header case-insensitively and keeps extra columns in metaData when present", async () => {
    const [row] = await verdicts("Title,SEVERITY,Owner,External ID\nA,low,team-db,INC-1\n");
    expect(row).toMatchObject({
      ok: true,
      input: { title: "A", severity: "low", externalId: "INC-1", metaData: { Owner: "team-db" } },
    });
  });

  it("reports each bad row with its data row and start line while good rows pass", async () => {
    const text = [
      header,
      "Good one,,high,prod,db,x",
      ",no title,high,prod,db,x",
      "Bad sev,,apocalyptic,prod,db,x",
      "Too,few",
      '"Multi',
      'line",desc,low,dev,api,x',
      `Big,${"d".repeat(20_001)},low,dev,api,x`,
      "",
      "Also good,,info,dev,api,x",
      'Trailing,bad,"quote,low,dev,api,x',
    ].join("\n");
    const out = await verdicts(text);
    expect(out.map((v) => [v.row, v.line, v.ok ? "ok" : v.reason])).toEqual([
      [1, 2, "ok"],
      [2, 3, "title is required"],
      [3, 4, 'unknown severity "apocalyptic" (use critical, high, medium, low or info)'],
      [4, 5, "expected 6 fields, found 2"],
      [5, 6, "ok"],
      [6, 8, "description is longer than 20000 characters (20001)"],
      [7, 10, "ok"],
      [8, 11, "a quoted field is never closed"],
    ]);
  });

  it("refuses a row that is not valid UTF-8 and keeps the next one", async () => {
    const bytes = Buffer.concat([
      Buffer.from(`${header}\nBad,`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(",low,,,\nGood,,low,,,\n"),
    ]);
    const out = await verdicts(bytes);
    expect(out.map((v) => (v.ok ? "ok" : v.reason))).toEqual(["the row is not valid UTF-8", "ok"]);
  });

  it("keeps a multi-byte character intact when it is split across chunks", async () => {
    const bytes = Buffer.from(`${header}\nCafé ☕ down,,low,,,\n`);
    const cut = bytes.indexOf(0xe2) + 1;
    const out = await verdicts(Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)]));
    expect(out[0]).toMatchObject({ ok: true, input: { title: "Café ☕ down" } });
  });

  it("throws RW_ERR_INPUT_CSV_HEADER before any row when the header has no title column", async () => {
    let rows = 0;
    const err = await readTicketCsv(
      "name,severity\nA,low\n",
      { defaultSource: "csv", severity: normalizeSeverity },
      () => {
        rows++;
      },
    ).catch((e: unknown) => e);
    expect(isRunwardenError(err) && err.code).toBe("RW_ERR_INPUT_CSV_HEADER");
    expect(rows).toBe(0);
    expect(await codeOf(verdicts(""))).toBe("RW_ERR_INPUT_CSV_HEADER");
    expect(await codeOf(verdicts("title,Title\nA,B\n"))).toBe("RW_ERR_INPUT_CSV_HEADER");
  });

  it("reads from an async iterable of strings when given one", async () => {
    async function* gen() {
      yield `${header}\n`;
      yield "A,,low,,,\nB,,";
      yield "low,,,\n";
    }
    expect((await verdicts(gen())).map((v) => v.ok && v.input.title)).toEqual(["A", "B"]);
  });

  it("fails the import with the source's error when the stream breaks", async () => {
    const broken = new Readable({
      read() {
        this.push(`${header}\nA,,low,,,\n`);
        this.destroy(new Error("disk read error"));
      },
    });
    await expect(verdicts(broken)).rejects.toThrow("disk read error");
  });
});

describe("TicketsApi.importCsv", () => {
  it("imports the sample file with every row analyzed when runbooks are loaded", async () => {
    const { tickets, runbooks, ctx } = await makeIntake();
    await loadSampleRunbooks(runbooks);
    const finished: unknown[] = [];
    ctx.events.on("import:finished", (e) => finished.push(e));
    const csv = readFileSync(join(import.meta.dirname, "../../../../tickets_sample.csv"));
    const result = await tickets.importCsv(csv);
    expect(result).toMatchObject({ rows: 40, imported: 40, deduplicated: 0, rejected: 0, errors: [] });
    expect(result.ticketIds).toHaveLength(40);
    expect(finished).toEqual([{ rows: 40, imported: 40, deduplicated: 0, rejected: 0 }]);
    const disk = await tickets.get(result.ticketIds![6]!);
    expect(disk.analysis?.candidates[0]?.runbookKey).toBe("disk-space-cleanup");
    const printer = await tickets.get(result.ticketIds![35]!);
    expect(printer.analysis?.decision.action).toBe("none");
  });

  it("counts repeats as deduplicated and reports progress when rows repeat", async () => {
    const { tickets, ctx } = await makeIntake();
    const rows = Array.from({ length: 25 }, (_, i) => `Alert ${i % 5},,low,prod,api,x`);
    const progress: number[] = [];
    const events: number[] = [];
    ctx.events.on("import:progressed", (e) => events.push(e.rows));
    const result = await tickets.importCsv([header, ...rows, ""].join("\n"), {
      batchSize: 4,
      progressEvery: 10,
      onProgress: (p) => progress.push(p.rows),
    });
    expect(result).toMatchObject({ rows: 25, imported: 5, deduplicated: 20, rejected: 0 });
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toBe(25);
  });

  it("folds repeats from earlier batches into their ticket with one write each when the import ends", async () => {
    const { tickets, ctx } = await makeIntake();
    const rows = Array.from({ length: 30 }, (_, i) => `Alert ${i % 3},detail ${i},low,prod,api,x`);
    let folds = 0;
    const ingest = ctx.storage.ingestTickets.bind(ctx.storage);
    ctx.storage.ingestTickets = async (docs, options) => {
      const outcomes = await ingest(docs, options);
      folds += new Set(outcomes.filter((o) => o.deduplicated).map((o) => o.ticket.id)).size;
      return outcomes;
    };
    const result = await tickets.importCsv([header, ...rows].join("\n"), {
      batchSize: 2,
      progressEvery: 1_000,
    });
    expect(result).toMatchObject({ rows: 30, imported: 3, deduplicated: 27 });
    // Ticket ids stay in row order, each repeat naming the ticket it was folded into.
    const ids = result.ticketIds!;
    expect(ids).toHaveLength(30);
    expect(ids.every((id, i) => id === ids[i % 3])).toBe(true);
    expect((await tickets.get(ids[0]!)).occurrences).toBe(10);
    expect((await tickets.get(ids[2]!)).analysis?.decision).toBeDefined();
    expect(folds).toBe(3);
  });

  it("gives each stored row its line and outcome: imported, folded, or reopened when a resolved ticket flaps", async () => {
    const { tickets } = await makeIntake();
    const csv = [
      header,
      "Alert A,,low,prod,api,x",
      "Alert B,,low,prod,api,x",
      "Alert A,,low,prod,api,x",
      "",
    ].join("\n");
    const first = await tickets.importCsv(csv);
    expect(first.outcomes?.map((o) => [o.row, o.line, o.outcome])).toEqual([
      [1, 2, "imported"],
      [2, 3, "imported"],
      [3, 4, "folded"],
    ]);
    expect(first.outcomes?.[2]?.ticketId).toBe(first.outcomes?.[0]?.ticketId);
    // Alert B is remediated; the same file again folds every row, and reopens B as a flap.
    await tickets.setStatus(first.outcomes![1]!.ticketId, "resolved", "fixed");
    const again = await tickets.importCsv(csv);
    expect(again).toMatchObject({ rows: 3, imported: 0, deduplicated: 3 });
    expect(again.outcomes?.map((o) => o.outcome)).toEqual(["folded", "reopened", "folded"]);
    expect((await tickets.get(first.outcomes![1]!.ticketId)).status).toBe("needs_human");
  });

  it("caps the listed errors and omits ticket ids when limits are exceeded", async () => {
    const { tickets } = await makeIntake();
    const rows = Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? `T${i},,low,,,` : `,,low,,,`));
    const result = await tickets.importCsv([header, ...rows].join("\n"), { maxErrors: 5, maxTicketIds: 10 });
    expect(result).toMatchObject({ rows: 30, imported: 15, rejected: 15, errorsTruncated: true });
    expect(result.errors).toHaveLength(5);
    expect(result.errors[0]).toEqual({ row: 2, line: 3, reason: "title is required" });
    expect(result.ticketIds).toBeUndefined();
    expect(result.outcomes).toBeUndefined();
  });

  it("auto-executes imported tickets only when the option is set", async () => {
    let runs = 0;
    const { tickets, runbooks } = await makeIntake({ autoExecute: async () => void runs++ });
    await loadSampleRunbooks(runbooks);
    const row = "Disk full on build agent,No space left on device (ENOSPC),high,dev,ci,datadog";
    await tickets.importCsv(`${header}\n${row}\n`);
    expect(runs).toBe(0);
    await tickets.importCsv(`${header}\n${row.replace("build", "test")}\n`, { autoExecute: true });
    expect(runs).toBe(1);
  });
});
