import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createEngine } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { type BenchRow, defineRows, latencyRow, median, percentile } from "../harness.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/**
 * N sessions held at an approval on SQLite. Row 1: engine heap per paused session against the
 * size of the records that describe it (session, steps, approval as JSON): a paused session must
 * cost the process less than a copy of its own records (goal <= 1). Row 2: latency from
 * `approvals.approve()` to the approved `true` step finishing, against spawning `true` directly
 * (goal: p99 <= 3×).
 */
export default defineRows("Approvals", async ({ quick }) => {
  const paused = quick ? 2_000 : 10_000;
  const samples = quick ? 200 : 500;
  const dir = mkdtempSync(join(tmpdir(), "rw-bench-approvals-"));
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
    const inputs = Array.from({ length: paused }, (_, i) => ({
      title: `gated ${i}`,
      environment: "prod",
      service: "svc",
      source: "bench",
    }));
    const tickets = (await engine.tickets.ingestMany(inputs, { autoExecute: false })).map((r) => r.ticket.id);

    let waiting = 0;
    engine.events.on("approval:requested", () => waiting++);
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const sessions: number[] = [];
    for (const id of tickets)
      sessions.push((await engine.executions.start(id, runbook.id, { actor: starter })).session.id);
    while (waiting < paused) await new Promise((r) => setTimeout(r, 20));
    gc();
    const heapAfter = process.memoryUsage().heapUsed;
    const perSession = Math.max(0, heapAfter - heapBefore) / paused;
    const sample = await engine.executions.get(sessions[0]!);
    const recordBytes = Buffer.byteLength(JSON.stringify([sample.session, sample.steps, sample.approvals]));

    const pending = (await engine.approvals.list({ status: "pending", limit: samples })).items;
    const finished = new Map<number, () => void>();
    engine.events.on("step:finished", (e) => finished.get(e.sessionId)?.());
    const latencies: number[] = [];
    for (const approval of pending) {
      const done = new Promise<void>((resolve) => finished.set(approval.sessionId, resolve));
      const t0 = performance.now();
      await engine.approvals.approve(approval.id, { actor: approver });
      await done;
      latencies.push(performance.now() - t0);
    }
    await engine.close();

    const spawnTrue = () =>
      new Promise<void>((resolve) => {
        const child = spawn("/bin/sh", ["-c", "true"], { stdio: ["ignore", "pipe", "pipe"] });
        child.stdout.on("data", () => {});
        child.stderr.on("data", () => {});
        child.on("close", () => resolve());
      });
    const raw: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await spawnTrue();
      raw.push(performance.now() - t0);
    }
    const rows: BenchRow[] = [
      latencyRow(
        `heap per session paused at approval (${paused.toLocaleString("en-US")})`,
        "bytes",
        perSession,
        recordBytes,
        1,
        `baseline: JSON size of its session, steps and approval; rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`,
      ),
      latencyRow(
        "approve → approved step done, p99",
        "ms",
        percentile(latencies, 99),
        percentile(raw, 99),
        3,
        `p50 ${median(latencies).toFixed(2)} ms vs spawn p50 ${median(raw).toFixed(2)} ms; ${samples} approvals`,
      ),
    ];
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
