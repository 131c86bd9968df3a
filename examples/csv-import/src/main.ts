/**
 * Imports a ticket CSV into a SQLite file, with a progress bar, and prints each ticket's best
 * runbook match, its score and the decision. The example runbooks are loaded approved, as their
 * front matter says, so you can see what would run automatically.
 *
 *   npx tsx src/main.ts [tickets.csv] [--db tickets.db]
 */
import { createReadStream, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Actor, createEngine, type Ticket } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { Presets, SingleBar } from "cli-progress";

const repo = resolve(import.meta.dirname, "../../..");
const args = process.argv.slice(2);
const dbFlag = args.indexOf("--db");
const dbPath = resolve(dbFlag >= 0 ? (args[dbFlag + 1] ?? "tickets.db") : "tickets.db");
const csvPath = resolve(
  args.find((a, i) => !a.startsWith("--") && args[i - 1] !== "--db") ?? join(repo, "tickets_sample.csv"),
);
const runbooksDir = join(repo, "examples", "runbooks");

// A fresh database on every run, so the output is the same each time.
for (const suffix of ["", "-wal", "-shm"]) rmSync(`${dbPath}${suffix}`, { force: true });
const engine = await createEngine({ storage: createSqliteStorage({ path: dbPath }) });
const admin: Actor = { id: "csv-import-example", roles: ["admin"] };

for (const file of readdirSync(runbooksDir)
  .filter((f) => f.endsWith(".md") && f !== "README.md")
  .sort()) {
  await engine.runbooks.create(readFileSync(join(runbooksDir, file), "utf8"), {
    actor: admin,
    useFrontMatterStatus: true,
  });
}

// The bar counts bytes read: the row count is not known before the file is read.
const size = statSync(csvPath).size;
const bar = new SingleBar(
  { format: "importing [{bar}] {percentage}% | {rows} rows | {rejected} rejected", hideCursor: true },
  Presets.shades_classic,
);
bar.start(size, 0, { rows: 0, rejected: 0 });
const input = createReadStream(csvPath);
let read = 0;
input.on("data", (chunk) => {
  read += chunk.length;
});
const result = await engine.tickets.importCsv(input, {
  progressEvery: 10,
  onProgress: (p) => bar.update(read, { rows: p.rows, rejected: p.rejected }),
});
bar.update(size, { rows: result.rows, rejected: result.rejected });
bar.stop();

console.log(
  `\n${result.rows} rows: ${result.imported} tickets, ${result.deduplicated} repeats folded, ${result.rejected} rejected → ${dbPath}\n`,
);
for (const error of result.errors) console.log(`  row ${error.row} (line ${error.line}): ${error.reason}`);

const tickets: Ticket[] = [];
for (let cursor: number | undefined; ; ) {
  const page = await engine.tickets.list({ limit: 500, ...(cursor === undefined ? {} : { cursor }) });
  tickets.push(...page.items);
  if (page.nextCursor === null) break;
  cursor = page.nextCursor;
}
tickets.reverse();

const cell = (text: string, width: number) =>
  text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
console.log(
  `${cell("#", 4)} ${cell("ticket", 42)} ${cell("category", 12)} ${cell("top match", 26)} ${cell("score", 6)} decision`,
);
console.log("-".repeat(105));
for (const t of tickets) {
  const top = t.analysis?.candidates[0];
  console.log(
    `${cell(String(t.id), 4)} ${cell(t.title, 42)} ${cell(t.analysis?.category ?? "-", 12)} ${cell(top?.runbookKey ?? "-", 26)} ${cell(top ? top.score.toFixed(2) : "-", 6)} ${t.analysis?.decision.action ?? "-"}`,
  );
}
await engine.close();
