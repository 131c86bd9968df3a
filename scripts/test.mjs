#!/usr/bin/env node
// Runs every vitest project once, with V8 coverage, prints a per-package coverage summary, and
// ends with the plain summary line CI reads: "N passed, N failed[, N skipped]" (always the last
// line). Extra arguments are passed to vitest; `--no-coverage` skips coverage.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, relative, sep } from "node:path";

const root = join(import.meta.dirname, "..");
const out = join(root, ".vitest-results.json");
const coverageDir = join(root, "coverage");
rmSync(out, { force: true });
rmSync(coverageDir, { recursive: true, force: true });
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
const args = process.argv.slice(2);
const coverage = !args.includes("--no-coverage");
const run = spawnSync(
  process.execPath,
  [
    vitest,
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${out}`,
    ...(coverage ? ["--coverage.enabled"] : []),
    ...args.filter((arg) => arg !== "--no-coverage"),
  ],
  { stdio: "inherit", cwd: root },
);
let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(out)) {
  const report = JSON.parse(readFileSync(out, "utf8"));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  const brokenFiles = (report.testResults ?? []).filter(
    (f) => f.status === "failed" && f.assertionResults.length === 0,
  );
  failed += brokenFiles.length;
}
printCoverage(join(coverageDir, "coverage-summary.json"));
if (run.status !== 0 && failed === 0) failed = 1;
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(run.status ?? 1);

/** One row per package (packages/<name>, packages/connectors/<name>): lines, branches, functions. */
function printCoverage(summaryFile) {
  if (!existsSync(summaryFile)) return;
  const summary = JSON.parse(readFileSync(summaryFile, "utf8"));
  const totals = new Map();
  for (const [file, metrics] of Object.entries(summary)) {
    if (file === "total") continue;
    const parts = relative(root, file).split(sep);
    const name = parts[1] === "connectors" ? `connectors/${parts[2]}` : parts[1];
    const row = totals.get(name) ?? { lines: [0, 0], branches: [0, 0], functions: [0, 0] };
    for (const key of Object.keys(row)) {
      row[key][0] += metrics[key].covered;
      row[key][1] += metrics[key].total;
    }
    totals.set(name, row);
  }
  if (totals.size === 0) return;
  const pct = ([covered, total]) => (total === 0 ? "-" : `${((100 * covered) / total).toFixed(1)}%`);
  const width = Math.max(...[...totals.keys()].map((name) => name.length), "package".length);
  const line = (cells) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(width) : cell.padStart(9))).join("  ");
  console.log(`\nCoverage (V8, src only)\n${line(["package", "lines", "branches", "functions"])}`);
  for (const [name, row] of [...totals].sort(([a], [b]) => a.localeCompare(b)))
    console.log(line([name, pct(row.lines), pct(row.branches), pct(row.functions)]));
  const all = summary.total;
  console.log(
    line([
      "all",
      pct([all.lines.covered, all.lines.total]),
      pct([all.branches.covered, all.branches.total]),
      pct([all.functions.covered, all.functions.total]),
    ]),
  );
}
