import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEngine } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { startBaselineSpawner } from "../baseline-spawner.js";
import { type BenchRow, defineRows, interleave, interleavedRow } from "../harness.js";

/**
 * Executor overhead: durable sessions (SQLite) of three local `true` steps each, against running
 * `sh -c true` three times per session from a small separate process asked over IPC (the same
 * advantage the local connector's spawn helper gives the engine), with the same number in flight
 * as the engine allows (policy.maxConcurrentSessions). Everything the executor adds (persisting
 * every transition, approval checks, output capture, redaction, audit, ticket status) is in the
 * ratio (goal <= 1.5): the median of per-chunk ratios, the sides interleaved ABAB.
 */
export default defineRows("Executor", async ({ quick }) => {
  const sessions = quick ? 200 : 1_000;
  const chunk = quick ? 25 : 50;
  const inFlight = 8;
  const dir = mkdtempSync(join(tmpdir(), "rw-bench-exec-"));
  const spawner = await startBaselineSpawner();
  try {
    const engine = await createEngine({
      storage: createSqliteStorage({ path: join(dir, "bench.db") }),
      vault: { key: Buffer.alloc(32, 3) },
      policy: { maxConcurrentSessions: inFlight, maxConcurrentPerConnection: inFlight },
    });
    const actor = { id: "bench", roles: ["admin" as const] };
    const { runbook } = await engine.runbooks.create(
      "# Three trues\n\n## Prechecks\n- `true` (name: pre)\n\n## Main Steps\n- `true` (name: main)\n\n## Postchecks\n- `true` (name: post)\n",
      { actor, status: "approved" },
    );
    const warmup = 2;
    const inputs = Array.from({ length: sessions + warmup * chunk }, (_, i) => ({
      title: `bench ticket ${i}`,
      environment: "prod",
      service: "svc",
      source: "bench",
    }));
    const tickets = (await engine.tickets.ingestMany(inputs, { autoExecute: false })).map((r) => r.ticket.id);

    const runSessions = async (ids: readonly number[]) => {
      const finished = new Map<number, string>();
      let resolveAll: () => void = () => {};
      const all = new Promise<void>((resolve) => {
        resolveAll = resolve;
      });
      const listener = (e: { sessionId: number; status: string }) => {
        finished.set(e.sessionId, e.status);
        if (finished.size === ids.length) resolveAll();
      };
      engine.events.on("session:finished", listener);
      const t0 = performance.now();
      for (const id of ids) await engine.executions.start(id, runbook.id, { actor });
      await all;
      const ms = performance.now() - t0;
      engine.events.off("session:finished", listener);
      const failed = [...finished.values()].filter((s) => s !== "succeeded").length;
      if (failed > 0) throw new Error(`executor bench: ${failed} sessions did not succeed`);
      return ms;
    };
    const result = await interleave(
      (r) => runSessions(tickets.slice((r + warmup) * chunk, (r + warmup + 1) * chunk)),
      () => spawner.runMany(chunk * 3, inFlight),
      { rounds: sessions / chunk, warmup },
    );
    await engine.close();
    const rows: BenchRow[] = [
      interleavedRow(
        "latency",
        `${sessions} sessions × 3 local steps (SQLite)`,
        `ms/${chunk} sessions`,
        result,
        1.5,
        {
          note: `baseline: ${chunk * 3} × sh -c true from a small helper process over IPC (piped), ${inFlight} in flight`,
        },
      ),
    ];
    return rows;
  } finally {
    await spawner.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
