import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createEngine } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { startBaselineSpawner } from "../baseline-spawner.js";
import { type BenchRow, defineRows, latencyRow, median, percentile } from "../harness.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Heap and RSS after full collections until the heap stops shrinking. */
async function settled(): Promise<{ heap: number; rss: number }> {
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
    const heap = process.memoryUsage().heapUsed;
    if (last - heap < 64 * 1024) break;
    last = heap;
  }
  const { heapUsed, rss } = process.memoryUsage();
  return { heap: heapUsed, rss };
}

/**
 * N sessions held at an approval on SQLite. Row 1: engine heap per paused session (forced full
 * GC before and after; the real delta, negative if it is, with the noise of repeated readings and
 * the RSS delta in the note) against the size of the records that describe it (session, steps,
 * approval as JSON): a paused session must cost the process less than a copy of its own records
 * (goal <= 1). Row 2: latency from `approvals.approve()` to the approved `true` step finishing,
 * against `sh -c true` from a small helper process over IPC (the spawn helper's advantage), the
 * two interleaved one sample each (goal: p99 <= 3×).
 */
export default defineRows("Approvals", async ({ quick }) => {
  const paused = quick ? 2_000 : 10_000;
  const samples = quick ? 200 : 500;
  const dir = mkdtempSync(join(tmpdir(), "rw-bench-approvals-"));
  const spawner = await startBaselineSpawner();
  try {
    const engine = await createEngine({
      storage: createSqliteStorage({ path: join(dir, "bench.db") }),
      vault: { key: Buffer.alloc(32, 4) },
    });
    const author = { id: "author", roles: ["admin" as const] };
    const starter = { id: "operator", roles: ["operator" as const] };
    const approver = { id: "approver", roles: ["approver" as const] };
    const { runbook } = await engine.runbooks.create(
      "# Gated\n\n## Main Steps\n- `true` (name: gated, requires_approval: true)\n",
      { actor: author, status: "approved" },
    );
    const inputs = Array.from({ length: paused + 50 }, (_, i) => ({
      title: `gated ${i}`,
      environment: "prod",
      service: "svc",
      source: "bench",
    }));
    const tickets = (await engine.tickets.ingestMany(inputs, { autoExecute: false })).map((r) => r.ticket.id);

    let waiting = 0;
    engine.events.on("approval:requested", () => waiting++);
    // Warm the engine's code paths (and their one-off allocations) before the first reading.
    for (const id of tickets.slice(paused)) await engine.executions.start(id, runbook.id, { actor: starter });
    while (waiting < 50) await new Promise((r) => setTimeout(r, 20));
    const readings = [await settled(), await settled(), await settled()];
    const noise = Math.max(...readings.map((r) => r.heap)) - Math.min(...readings.map((r) => r.heap));
    const before = readings[readings.length - 1]!;
    const sessions: number[] = [];
    for (const id of tickets.slice(0, paused))
      sessions.push((await engine.executions.start(id, runbook.id, { actor: starter })).session.id);
    while (waiting < paused + 50) await new Promise((r) => setTimeout(r, 20));
    const after = await settled();
    const perSession = (after.heap - before.heap) / paused;
    const rssPerSession = (after.rss - before.rss) / paused;
    const sample = await engine.executions.get(sessions[0]!);
    const recordBytes = Buffer.byteLength(JSON.stringify([sample.session, sample.steps, sample.approvals]));

    const pending = (await engine.approvals.list({ status: "pending", limit: samples })).items;
    const finished = new Map<number, () => void>();
    engine.events.on("step:finished", (e) => finished.get(e.sessionId)?.());
    const latencies: number[] = [];
    const raw: number[] = [];
    for (const [i, approval] of pending.entries()) {
      const ours = async () => {
        const done = new Promise<void>((resolve) => finished.set(approval.sessionId, resolve));
        const t0 = performance.now();
        await engine.approvals.approve(approval.id, { actor: approver });
        await done;
        latencies.push(performance.now() - t0);
      };
      const base = async () => {
        const t0 = performance.now();
        await spawner.run();
        raw.push(performance.now() - t0);
      };
      if (i % 2 === 0) {
        await ours();
        await base();
      } else {
        await base();
        await ours();
      }
    }
    await engine.close();

    const rows: BenchRow[] = [
      latencyRow(
        `heap per session paused at approval (${paused.toLocaleString("en-US")})`,
        "bytes",
        perSession,
        recordBytes,
        1,
        `baseline: JSON size of its session, steps and approval; heap delta ${((after.heap - before.heap) / 2 ** 20).toFixed(1)} MiB (noise of 3 readings ${(noise / 2 ** 20).toFixed(2)} MiB, ${Math.abs(after.heap - before.heap) > 3 * noise ? "above" : "NOT above"} 3× noise); rss ${(rssPerSession).toFixed(0)} B/session, ${Math.round(after.rss / 2 ** 20)} MiB`,
      ),
      latencyRow(
        "approve → approved step done, p99",
        "ms",
        percentile(latencies, 99),
        percentile(raw, 99),
        3,
        `p50 ${median(latencies).toFixed(2)} ms vs p50 ${median(raw).toFixed(2)} ms; ${latencies.length} approvals interleaved with sh -c true from a small helper over IPC`,
      ),
    ];
    return rows;
  } finally {
    await spawner.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
