/**
 * A durable CSV import across a SIGKILL: with the intake queue on, the file is stored as queued
 * chunks before any row is, so a process killed midway leaves the rest queued and the next start
 * finishes it: every good row a ticket or a fold of one, exactly once, and the bad rows reported.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEngine, type Engine, type EngineEventMap } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { afterEach, describe, expect, it } from "vitest";

let engine: Engine | undefined;
let child: ChildProcess | undefined;
let dir: string;
afterEach(async () => {
  child?.kill("SIGKILL");
  await engine?.close();
  engine = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const totalRows = 20_000;
const distinct = 6_000;
/** Data row numbers (1-based) of the rows without a title. */
const isBad = (i: number) => i % 1_000 === 999;

/** Writes the CSV; returns the good rows per title and the bad rows' numbers. */
function writeCsv(file: string): { perTitle: Map<string, number>; badRows: number[] } {
  const perTitle = new Map<string, number>();
  const badRows: number[] = [];
  const lines = ["title,description,severity,environment,service,source"];
  for (let i = 0; i < totalRows; i++) {
    if (isBad(i)) {
      lines.push(",no title,high,dev,ci,csv");
      badRows.push(i + 1);
      continue;
    }
    const title = `csv crash row ${i % distinct}`;
    perTitle.set(title, (perTitle.get(title) ?? 0) + 1);
    lines.push(`${title},imported before the kill or after,high,dev,ci,csv`);
  }
  writeFileSync(file, `${lines.join("\n")}\n`);
  return { perTitle, badRows };
}

/** Runs the child until its import has reported `rows` stored rows, then SIGKILLs it. */
async function importAndKill(path: string, csv: string, rows: number): Promise<number> {
  const running = spawn(
    process.execPath,
    [
      "--conditions=@runwarden/source",
      "--import",
      "tsx",
      join(import.meta.dirname, "fixtures/csv-import-child.ts"),
      path,
      csv,
    ],
    { cwd: import.meta.dirname, stdio: ["ignore", "pipe", "pipe"] },
  );
  child = running;
  let stderr = "";
  running.stderr!.on("data", (d) => {
    stderr += d;
  });
  const progressed = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the import never progressed: ${stderr}`)), 120_000);
    let out = "";
    running.stdout!.on("data", (d) => {
      out += d;
      for (const line of out.split("\n").filter((l) => l.startsWith("{"))) {
        const message = JSON.parse(line) as { progressed?: number; finished?: boolean };
        if (message.finished) reject(new Error("the import finished before the kill"));
        if ((message.progressed ?? 0) >= rows) {
          clearTimeout(timer);
          resolve(message.progressed!);
          return;
        }
      }
    });
    running.on("exit", (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
  });
  const exited = new Promise((resolve) => running.on("exit", resolve));
  running.kill("SIGKILL");
  await exited;
  child = undefined;
  return progressed;
}

describe("durable CSV import crash safety", () => {
  it("finishes an import SIGKILLed midway at the next start, every row stored exactly once", async () => {
    dir = mkdtempSync(join(tmpdir(), "rw-csv-crash-"));
    const path = join(dir, "runwarden.db");
    const csv = join(dir, "tickets.csv");
    const { perTitle, badRows } = writeCsv(csv);
    const progressedAtKill = await importAndKill(path, csv, 3_000);
    expect(progressedAtKill).toBeLessThan(totalRows);

    engine = await createEngine({
      storage: createSqliteStorage({ path }),
      vault: { key: Buffer.alloc(32, 1) },
      intake: { enabled: true },
    });
    // Killed midway: the rest of the file is still queued, durable.
    expect((await engine.intake.depth()).entries).toBeGreaterThan(1);
    const resumed = new Promise<EngineEventMap["import:resumed"]>((resolve) =>
      engine!.events.on("import:resumed", resolve),
    );
    await engine.start();
    const report = await Promise.race([
      resumed,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("never resumed")), 120_000)),
    ]);
    expect(report.rows).toBe(totalRows);
    expect(report.rejected).toBe(badRows.length);
    expect(report.errors.map((e) => e.row)).toEqual(badRows);
    expect(report.imported + report.deduplicated).toBeGreaterThan(0);
    expect((await engine.intake.depth()).entries).toBe(0);

    // One ticket per title, its occurrences the title's good rows: none lost, none doubled.
    const stored = new Map<string, number[]>();
    let cursor: number | undefined;
    for (;;) {
      const page = await engine.storage.tickets.find({
        order: "asc",
        limit: 500,
        ...(cursor ? { cursor } : {}),
      });
      if (page.length === 0) break;
      for (const t of page) stored.set(t.title, [...(stored.get(t.title) ?? []), t.occurrences]);
      cursor = page.at(-1)!.id;
    }
    expect(stored.size).toBe(perTitle.size);
    for (const [title, rows] of perTitle) expect(stored.get(title), title).toEqual([rows]);
  });
});
