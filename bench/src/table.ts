/**
 * `tsx src/table.ts [results.json]`: prints the last run's results (bench/results.json by default)
 * as the Markdown table docs/performance.md shows, with its heading line (machine, date, goals met).
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { BenchRow } from "./harness.js";

const file = process.argv[2] ?? join(import.meta.dirname, "..", "results.json");
const run = JSON.parse(readFileSync(file, "utf8")) as {
  machine: { cpu: string; cores: number; node: string };
  quick: boolean;
  rows: BenchRow[];
  failures: { group: string; error: string }[];
};
const fmt = (n: number) =>
  !Number.isFinite(n)
    ? "-"
    : Math.abs(n) >= 100
      ? Math.round(n).toLocaleString("en-US")
      : Number(n.toPrecision(3)).toString();
const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");
const met = run.rows.filter((r) => r.met).length;
const day = statSync(file).mtime.toISOString().slice(0, 10);
const lines = [
  `${run.quick ? "Quick" : "Full"} run, ${run.machine.cpu}, ${run.machine.cores} cores, Node ${run.machine.node}, ${day}: ${met}/${run.rows.length} goals met, ${run.failures.length} row groups failed.`,
  "",
  "| row | unit | Runwarden | baseline | ratio | goal | met | note |",
  "|---|---|---|---|---|---|---|---|",
  ...run.rows.map(
    (r) =>
      `| ${cell(r.name)} | ${cell(r.unit)} | ${fmt(r.value)} | ${fmt(r.baseline)} | ${fmt(r.ratio)} | ${cell(r.goal)} | ${r.met ? "yes" : "**no**"} | ${cell(r.note ?? "")} |`,
  ),
  ...run.failures.map((f) => `\nFailed: ${cell(f.group)}: ${cell(f.error)}`),
];
process.stdout.write(`${lines.join("\n")}\n`);
