import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { writeTicketCsv } from "../generate-tickets.js";
import { type BenchRow, defineRows, median, seededRandom, throughputRow } from "../harness.js";

const run = promisify(execFile);
const child = join(import.meta.dirname, "..", "csv-import-child.ts");
const runbooksDir = join(import.meta.dirname, "..", "..", "..", "examples", "runbooks");

interface Measure {
  rows: number;
  seconds: number;
  maxRssMb: number;
  imported?: number;
  deduplicated?: number;
}

/** Runs one measurement in a fresh process (same loader flags as this one). */
async function measure(mode: "ours" | "ours-queued" | "csv-parse", file: string): Promise<Measure> {
  const { stdout } = await run(process.execPath, [...process.execArgv, child, mode, file, runbooksDir], {
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as Measure;
}

/**
 * CSV import into SQLite (temp file) with analysis, rows/s against csv-parse alone (`columns:
 * true`) on the same file (goal >= 0.5); and peak RSS at the large size against the small one
 * (goal <= 1.5: flat memory); and the large size again with the intake queue on (the durable
 * import: the file queued in chunks before any row is stored), same goal. Each measurement runs
 * in its own process.
 */
export default defineRows("CSV import", async ({ quick }) => {
  const sizes = quick ? [20_000, 100_000] : [100_000, 1_000_000];
  const dir = mkdtempSync(join(tmpdir(), "rw-bench-csv-"));
  const rows: BenchRow[] = [];
  const rss: number[] = [];
  try {
    for (const size of sizes) {
      const file = join(dir, `tickets-${size}.csv`);
      await writeTicketCsv(file, size, seededRandom(0x43535631 + size));
      const ours: Measure[] = [];
      const baseline: Measure[] = [];
      const repeats = size >= 1_000_000 ? 1 : 2;
      for (let r = 0; r < repeats; r++) {
        baseline.push(await measure("csv-parse", file));
        ours.push(await measure("ours", file));
      }
      const oursRate = median(ours.map((m) => m.rows / m.seconds));
      const baseRate = median(baseline.map((m) => m.rows / m.seconds));
      const peak = Math.max(...ours.map((m) => m.maxRssMb));
      rss.push(peak);
      const last = ours.at(-1);
      rows.push(
        throughputRow(
          `csv import ${size.toLocaleString("en-US")} rows → SQLite`,
          "rows/s",
          oursRate,
          baseRate,
          0.5,
          `peak RSS ${Math.round(peak)} MB; ${last?.imported} tickets, ${last?.deduplicated} folded repeats`,
        ),
      );
    }
    // The durable import (intake queue on) on the large file, interleaved with its baseline.
    const size = sizes[1]!;
    const file = join(dir, `tickets-${size}.csv`);
    const ours: Measure[] = [];
    const baseline: Measure[] = [];
    for (let r = 0; r < (size >= 1_000_000 ? 1 : 2); r++) {
      baseline.push(await measure("csv-parse", file));
      ours.push(await measure("ours-queued", file));
    }
    const last = ours.at(-1);
    rows.push(
      throughputRow(
        `csv import ${size.toLocaleString("en-US")} rows → SQLite, durable (intake queue on)`,
        "rows/s",
        median(ours.map((m) => m.rows / m.seconds)),
        median(baseline.map((m) => m.rows / m.seconds)),
        0.5,
        `peak RSS ${Math.round(Math.max(...ours.map((m) => m.maxRssMb)))} MB; ${last?.imported} tickets, ${last?.deduplicated} folded repeats`,
      ),
    );
    const [small, large] = rss as [number, number];
    rows.push({
      name: `csv import peak RSS ${sizes[1]!.toLocaleString("en-US")} vs ${sizes[0]!.toLocaleString("en-US")} rows`,
      unit: "MB",
      value: large,
      baseline: small,
      ratio: large / small,
      goal: "<= 1.5",
      met: large / small <= 1.5,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
});
