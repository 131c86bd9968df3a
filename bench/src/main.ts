/**
 * `pnpm bench [--quick] [row-file-name …]`: runs every row group in src/rows/, prints one table
 * (row, Runwarden, baseline, ratio, goal, met) and writes bench/results.json. A goal missed is
 * printed, never failed; a row group that throws is reported and the others still run.
 */
import { readdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { BenchRow, RowGroup } from "./harness.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.filter((a) => !a.startsWith("--"));
const rowsDir = join(import.meta.dirname, "rows");

// Cheap, self-contained rows first; those that need services or child processes after.
const order = [
  "runbook-parse",
  "cached-load",
  "matching",
  "matching-eval",
  "csv-import",
  "executor",
  "memory-after-load",
  "approvals",
  "webhook-ingest",
  "sse-delivery",
  "alert-to-remediation",
  "alert-storm",
  "api-latency",
  "ssh",
  "kubernetes",
  "winrm",
  "sql",
  "scale-out",
];
const files = readdirSync(rowsDir)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => f.slice(0, -3))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

function rank(name: string): number {
  const i = order.indexOf(name);
  return i === -1 ? order.length : i;
}

const results: BenchRow[] = [];
const failures: { group: string; error: string }[] = [];
const started = performance.now();
for (const file of files) {
  const group = (await import(pathToFileURL(join(rowsDir, `${file}.ts`)).href)).default as RowGroup;
  process.stderr.write(`bench: ${group.title}${quick ? " (quick)" : ""}…\n`);
  const t0 = performance.now();
  try {
    const rows = await group.run({ quick });
    results.push(...rows);
    process.stderr.write(`bench: ${group.title} done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    failures.push({ group: group.title, error: message });
    process.stderr.write(`bench: ${group.title} failed: ${message}\n`);
  }
}

const machine = { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, node: process.version };
writeFileSync(
  join(import.meta.dirname, "..", "results.json"),
  `${JSON.stringify({ machine, quick, rows: results, failures }, null, 2)}\n`,
);

const fmt = (n: number) =>
  !Number.isFinite(n) ? "-" : Math.abs(n) >= 100 ? Math.round(n).toLocaleString("en-US") : n.toPrecision(3);
const table = [
  ["row", "unit", "runwarden", "baseline", "ratio", "goal", "met", "note"],
  ...results.map((r) => [
    r.name,
    r.unit,
    fmt(r.value),
    fmt(r.baseline),
    fmt(r.ratio),
    r.goal,
    r.met ? "yes" : "NO",
    r.note ?? "",
  ]),
];
const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
const line = (row: string[]) =>
  row
    .map((cell, c) => cell.padEnd(widths[c]!))
    .join("  ")
    .trimEnd();
console.log(
  `\nRunwarden bench — ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}${quick ? ", quick" : ""}`,
);
console.log(line(table[0]!));
console.log(widths.map((w) => "─".repeat(w)).join("  "));
for (const row of table.slice(1)) console.log(line(row));
for (const f of failures) console.log(`FAILED  ${f.group}: ${f.error}`);
const met = results.filter((r) => r.met).length;
console.log(
  `\n${met}/${results.length} goals met, ${failures.length} row groups failed, ${((performance.now() - started) / 1000).toFixed(0)} s`,
);
