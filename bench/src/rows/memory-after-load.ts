import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createEngine } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { writeTicketCsv } from "../generate-tickets.js";
import { type BenchRow, defineRows, latencyRow, seededRandom } from "../harness.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Heap after full collections until it stops shrinking. */
async function settledHeap(): Promise<number> {
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 10));
    gc();
    const heap = process.memoryUsage().heapUsed;
    if (last - heap < 64 * 1024) return heap;
    last = heap;
  }
  return process.memoryUsage().heapUsed;
}

/**
 * Memory after load: engine heap after full GC once a large CSV import and a long session (one
 * runbook of many local `true` steps) are done, against the heap of the same engine, warmed up,
 * before them. What a finished import or session leaves behind in the process is a leak: goal
 * after/before <= 1.2.
 */
export default defineRows("Memory after load", async ({ quick }) => {
  const rows = quick ? 50_000 : 1_000_000;
  const steps = quick ? 500 : 10_000;
  const dir = mkdtempSync(join(tmpdir(), "rw-bench-memory-"));
  const runbooksDir = join(import.meta.dirname, "..", "..", "..", "examples", "runbooks");
  try {
    const csv = join(dir, "tickets.csv");
    await writeTicketCsv(csv, rows, seededRandom(0x4d454d31));
    const warmCsv = join(dir, "warm.csv");
    await writeTicketCsv(warmCsv, 2_000, seededRandom(0x4d454d32));
    const engine = await createEngine({
      storage: createSqliteStorage({ path: join(dir, "bench.db") }),
      vault: { key: Buffer.alloc(32, 7) },
    });
    const actor = { id: "bench", roles: ["admin" as const] };
    for (const name of readdirSync(runbooksDir).filter((f) => f.endsWith(".md") && f !== "README.md"))
      await engine.runbooks.create(readFileSync(join(runbooksDir, name), "utf8"), {
        actor,
        useFrontMatterStatus: true,
      });
    const long = (n: number) =>
      `# Long session ${n}\n\n## Main Steps\n${Array.from({ length: n }, (_, i) => `- \`true\` (name: s${i})`).join("\n")}\n`;
    // The runbooks are created before the "before" reading: a 10,000-step runbook in the library
    // is state the engine keeps (indexed, its plan cached), not what the session left behind.
    const create = async (n: number) =>
      (await engine.runbooks.create(long(n), { actor, status: "approved" })).runbook;
    const run = async (runbook: { id: number }, n: number, title: string) => {
      const [ingested] = await engine.tickets.ingestMany(
        [{ title, environment: "prod", service: "svc", source: "bench" }],
        { autoExecute: false },
      );
      if (!ingested) throw new Error("memory bench: no ticket");
      const ticket = ingested.ticket;
      const done = new Promise<string>((resolve) =>
        engine.events.on("session:finished", (e: { status: string }) => resolve(e.status)),
      );
      await engine.executions.start(ticket.id, runbook.id, { actor });
      const status = await done;
      if (status !== "succeeded") throw new Error(`memory bench: the ${n}-step session ended ${status}`);
    };
    // Warm-up: the same code paths once, small, so their one-off allocations are in "before".
    await engine.tickets.importCsv(createReadStream(warmCsv));
    const warmRunbook = await create(20);
    const longRunbook = await create(steps);
    await run(warmRunbook, 20, "warm-up session");
    const before = await settledHeap();

    await engine.tickets.importCsv(createReadStream(csv));
    await run(longRunbook, steps, "long session");
    const after = await settledHeap();
    await engine.close();
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    const result: BenchRow[] = [
      latencyRow(
        `heap after a ${rows.toLocaleString("en-US")}-row import and a ${steps.toLocaleString("en-US")}-step session vs before`,
        "MiB",
        after / 2 ** 20,
        before / 2 ** 20,
        1.2,
        `heap after full GC: ${mib(before)} → ${mib(after)} MiB; rss ${mib(process.memoryUsage().rss)} MiB`,
      ),
    ];
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
