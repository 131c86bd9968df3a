/**
 * One measurement of the csv-import row, in its own process so its peak RSS is its own:
 * `csv-import-child.ts <ours|ours-queued|csv-parse> <file.csv> <runbooks dir>` prints one JSON
 * line (`ours-queued`: the intake queue on, so the import is durable: queued in chunks first).
 * An optional fourth argument sets `analysis.workers` (default: the engine's default), for A/B
 * runs of analysis in worker threads against in-process.
 */
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEngine } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { parse } from "csv-parse";

const [mode, file, runbooksDir, workers] = process.argv.slice(2) as [string, string, string, string?];

if (mode === "csv-parse") {
  const started = performance.now();
  let rows = 0;
  for await (const _record of createReadStream(file).pipe(parse({ columns: true }))) rows++;
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ rows, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
} else {
  const dir = mkdtempSync(join(tmpdir(), "rw-bench-csv-"));
  try {
    const engine = await createEngine({
      storage: createSqliteStorage({ path: join(dir, "bench.db") }),
      ...(mode === "ours-queued" ? { intake: { enabled: true } } : {}),
      ...(workers === undefined ? {} : { analysis: { workers: Number(workers) } }),
    });
    const admin = { id: "bench", roles: ["admin" as const] };
    for (const name of readdirSync(runbooksDir).filter((f) => f.endsWith(".md") && f !== "README.md")) {
      await engine.runbooks.create(readFileSync(join(runbooksDir, name), "utf8"), {
        actor: admin,
        useFrontMatterStatus: true,
      });
    }
    const started = performance.now();
    const result = await engine.tickets.importCsv(createReadStream(file));
    const seconds = (performance.now() - started) / 1000;
    await engine.close();
    console.log(
      JSON.stringify({
        rows: result.rows,
        imported: result.imported,
        deduplicated: result.deduplicated,
        rejected: result.rejected,
        seconds,
        maxRssMb: process.resourceUsage().maxRSS / 1024,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
