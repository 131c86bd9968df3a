import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import { join } from "node:path";
import { createEngine } from "@runwarden/core";
import { createPostgresStorage } from "@runwarden/storage-postgres";
import pg from "pg";
import { type BenchRow, defineRows, throughputRow } from "../harness.js";

const server = process.env.RUNWARDEN_PG_URL ?? "postgres://postgres@127.0.0.1:5432";
const child = join(import.meta.dirname, "..", "scale-out-child.ts");
const runbook = `---
id: scale-out
match:
  services: [scale]
  environments: [prod]
  sources: [bench]
  keywords: [scale]
---
# Three trues

## Prechecks
- \`true\` (name: pre)

## Main Steps
- \`true\` (name: main)

## Postchecks
- \`true\` (name: post)
`;

interface Engine {
  process: ChildProcessWithoutNullStreams;
  next(key: string): Promise<void>;
}

function startEngine(url: string, name: string): Engine {
  const proc = spawn(process.execPath, [...process.execArgv, child, url, name], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const waiters: { key: string; resolve: () => void }[] = [];
  let buffer = "";
  let stderr = "";
  proc.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-2_000);
  });
  proc.stdout.on("data", (chunk) => {
    buffer += chunk;
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.startsWith("{")) continue;
      const message = JSON.parse(line) as Record<string, unknown>;
      const at = waiters.findIndex((w) => w.key in message);
      if (at >= 0) waiters.splice(at, 1)[0]!.resolve();
    }
  });
  return {
    process: proc,
    next: (key) =>
      new Promise((resolve, reject) => {
        const onExit = (code: number | null) =>
          reject(new Error(`scale-out engine ${name} exited (${code}): ${stderr}`));
        proc.once("exit", onExit);
        waiters.push({
          key,
          resolve: () => {
            proc.off("exit", onExit);
            resolve();
          },
        });
      }),
  };
}

/**
 * Runs `sessions` sessions (three local `true` steps each) through `instances` engine processes
 * sharing a fresh database; tickets arrive at the engines in turn, 50 per request, as behind a load
 * balancer. Returns sessions completed per second, after checking that every session and every
 * step succeeded exactly once (nothing lost, nothing run twice).
 */
async function measure(instances: number, sessions: number): Promise<number> {
  const database = `rw_bench_scale_${randomBytes(5).toString("hex")}`;
  const url = `${server}/${database}`;
  const admin = new pg.Client({ connectionString: `${server}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const engines: Engine[] = [];
  const db = new pg.Client({ connectionString: url });
  try {
    const setup = await createEngine({
      storage: await createPostgresStorage({ connectionString: url }),
      vault: { key: Buffer.alloc(32, 5) },
    });
    await setup.runbooks.create(runbook, { actor: { id: "bench", roles: ["admin"] }, status: "approved" });
    await setup.close();
    await db.connect();
    for (let i = 0; i < instances; i++) engines.push(startEngine(url, `bench-${i}`));
    await Promise.all(engines.map((e) => e.next("ready")));

    let sent = 0;
    const finished = async () =>
      Number(
        (
          await db.query(
            "SELECT count(*)::int AS n FROM rw_sessions WHERE data->>'status' IN ('succeeded', 'failed', 'rolled_back', 'cancelled', 'rejected', 'interrupted')",
          )
        ).rows[0].n,
      );
    const feed = async (count: number) => {
      const requests: Promise<void>[] = [];
      for (let at = 0; at < count; at += 50) {
        const engine = engines[(at / 50) % engines.length]!;
        const inputs = Array.from({ length: Math.min(50, count - at) }, () => ({
          title: `scale ticket ${sent++}`,
          service: "scale",
          environment: "prod",
          source: "bench",
        }));
        const answered = engine.next("ingested");
        engine.process.stdin.write(`${JSON.stringify({ ingest: inputs })}\n`);
        requests.push(answered);
      }
      await Promise.all(requests);
    };
    const drain = async (total: number) => {
      const deadline = Date.now() + 600_000;
      while ((await finished()) < total) {
        if (Date.now() > deadline) throw new Error("scale-out: sessions did not finish in 10 minutes");
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // Warm every process up (JIT, pools), then time the real batch.
    const warmup = 30 * instances;
    await feed(warmup);
    await drain(warmup);
    const t0 = performance.now();
    await feed(sessions);
    await drain(warmup + sessions);
    const seconds = (performance.now() - t0) / 1000;

    const { rows } = await db.query<{ status: string; n: number }>(
      "SELECT data->>'status' AS status, count(*)::int AS n FROM rw_sessions GROUP BY 1",
    );
    const { rows: stepRows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM rw_steps WHERE data->>'status' = 'succeeded' AND (data->>'attempts')::int = 1",
    );
    const succeeded = rows.find((r) => r.status === "succeeded")?.n ?? 0;
    const total = rows.reduce((sum, r) => sum + r.n, 0);
    if (total !== warmup + sessions || succeeded !== total || stepRows[0]!.n !== total * 3) {
      throw new Error(
        `scale-out with ${instances} instances lost or repeated work: ${JSON.stringify(rows)}, ${stepRows[0]!.n} steps ran once`,
      );
    }
    return sessions / seconds;
  } finally {
    await Promise.all(
      engines.map(
        (e) =>
          new Promise<void>((resolve) => {
            e.process.once("exit", () => resolve());
            e.process.kill("SIGTERM");
          }),
      ),
    );
    await db.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}

/**
 * Scale-out on PostgreSQL: sessions completed per second by three engine processes sharing one
 * database, against one. Each engine runs up to 8 sessions at once. On a 2-core machine three
 * processes cannot run three times as fast; the goal is that they are not slower and lose
 * nothing (checked after every run).
 */
export default defineRows("Scale-out (PostgreSQL)", async ({ quick }) => {
  const sessions = quick ? 300 : 1_200;
  const one = await measure(1, sessions);
  const three = await measure(3, sessions);
  const rows: BenchRow[] = [
    throughputRow(
      `${sessions} sessions × 3 local steps, 3 instances vs 1 (PostgreSQL)`,
      "sessions/s",
      three,
      one,
      1,
      `1 instance ${one.toFixed(0)}/s, 3 instances ${three.toFixed(0)}/s on ${cpus().length} CPUs; nothing lost or run twice`,
    ),
  ];
  return rows;
});
