import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEngine } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { type BenchRow, defineRows, latencyRow } from "../harness.js";

/**
 * Executor overhead: N durable sessions (SQLite) of three local `true` steps each, against
 * spawning `true` 3·N times directly (output captured) with the same number in flight as the engine allows
 * (policy.maxConcurrentSessions). Everything the executor adds (persisting every transition,
 * approvals checks, output capture, redaction, audit, ticket status) is in the ratio (goal <= 1.5).
 */
export default defineRows("Executor", async ({ quick }) => {
  const sessions = quick ? 200 : 1_000;
  const inFlight = 8;
  const dir = mkdtempSync(join(tmpdir(), "rw-bench-exec-"));
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
    const inputs = Array.from({ length: sessions + 20 }, (_, i) => ({
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
    const spawnTrue = () =>
      new Promise<void>((resolve, reject) => {
        // Output is captured, as running a command for a remediation must.
        const child = spawn("/bin/sh", ["-c", "true"], { stdio: ["ignore", "pipe", "pipe"] });
        child.stdout.on("data", () => {});
        child.stderr.on("data", () => {});
        child.on("error", reject);
        child.on("close", () => resolve());
      });
    const raw = async (count: number) => {
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next < count) {
            next++;
            await spawnTrue();
          }
        }),
      );
      return performance.now() - t0;
    };
    // Warm both sides up, then time them alternately on equal chunks, so a noisy neighbour or a
    // GC pause lands on both alike; each side is the sum of its chunks.
    await runSessions(tickets.slice(sessions));
    await raw(60);
    const chunk = quick ? 50 : 100;
    let ours = 0;
    let baseline = 0;
    for (let at = 0; at < sessions; at += chunk) {
      const ids = tickets.slice(at, Math.min(at + chunk, sessions));
      if ((at / chunk) % 2 === 0) {
        ours += await runSessions(ids);
        baseline += await raw(ids.length * 3);
      } else {
        baseline += await raw(ids.length * 3);
        ours += await runSessions(ids);
      }
    }
    await engine.close();
    const rows: BenchRow[] = [
      latencyRow(
        `${sessions} sessions × 3 local steps (SQLite)`,
        "ms",
        ours,
        baseline,
        1.5,
        `${Math.round((sessions / ours) * 1000)} sessions/s; baseline: ${sessions * 3} × sh -c true (piped), ${inFlight} in flight`,
      ),
    ];
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
