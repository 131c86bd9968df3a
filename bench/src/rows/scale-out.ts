import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import { join } from "node:path";
import { createEngine } from "@runwarden/core";
import { createPostgresStorage } from "@runwarden/storage-postgres";
import pg from "pg";
import { type BenchRow, defineRows, interleave, interleavedRow } from "../harness.js";

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

/** Starts one engine process running `inFlight` sessions at once, pinned to `cpu` with taskset when given. */
function startEngine(url: string, name: string, inFlight: number, cpu?: number): Engine {
  const args = [...process.execArgv, child, url, name, String(inFlight)];
  const proc =
    cpu === undefined
      ? spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] })
      : spawn("taskset", ["-c", String(cpu), process.execPath, ...args], { stdio: ["pipe", "pipe", "pipe"] });
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

/** Whether `taskset` runs here (util-linux; absent on macOS). */
function hasTaskset(): boolean {
  return spawnSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" }).status === 0;
}

/** Engine processes sharing one fresh database, fed tickets in turn as behind a load balancer. */
interface Cluster {
  /** Runs `sessions` sessions (three local `true` steps each) to the end; resolves with the ms. */
  run(sessions: number): Promise<number>;
  /** Checks that every session and every step so far succeeded exactly once; throws otherwise. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts `instances` engine processes, each running `inFlight` sessions at once (pinned to the
 * CPUs of `cpus`, one each in turn, when given), over a fresh PostgreSQL database holding one
 * approved runbook of three local `true` steps.
 */
async function startCluster(instances: number, inFlight: number, cpus?: readonly number[]): Promise<Cluster> {
  const database = `rw_bench_scale_${randomBytes(5).toString("hex")}`;
  const url = `${server}/${database}`;
  const admin = new pg.Client({ connectionString: `${server}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const engines: Engine[] = [];
  const db = new pg.Client({ connectionString: url });
  const close = async () => {
    await Promise.all(
      engines.map(
        (e) =>
          new Promise<void>((resolve) => {
            if (e.process.exitCode !== null) return resolve();
            e.process.once("exit", () => resolve());
            e.process.kill("SIGTERM");
          }),
      ),
    );
    await db.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  };
  try {
    const setup = await createEngine({
      storage: await createPostgresStorage({ connectionString: url }),
      vault: { key: Buffer.alloc(32, 5) },
    });
    await setup.runbooks.create(runbook, { actor: { id: "bench", roles: ["admin"] }, status: "approved" });
    await setup.close();
    await db.connect();
    for (let i = 0; i < instances; i++)
      engines.push(startEngine(url, `bench-${i}`, inFlight, cpus ? cpus[i % cpus.length] : undefined));
    await Promise.all(engines.map((e) => e.next("ready")));
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }

  let sent = 0;
  let turn = 0;
  const finished = async () =>
    Number(
      (
        await db.query(
          "SELECT count(*)::int AS n FROM rw_sessions WHERE data->>'status' IN ('succeeded', 'failed', 'rolled_back', 'cancelled', 'rejected', 'interrupted')",
        )
      ).rows[0].n,
    );
  return {
    async run(sessions) {
      const t0 = performance.now();
      const requests: Promise<void>[] = [];
      for (let at = 0; at < sessions; at += 50) {
        const engine = engines[turn++ % engines.length]!;
        const inputs = Array.from({ length: Math.min(50, sessions - at) }, () => ({
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
      const deadline = Date.now() + 600_000;
      while ((await finished()) < sent) {
        if (Date.now() > deadline) throw new Error("scale-out: sessions did not finish in 10 minutes");
        await new Promise((r) => setTimeout(r, 20));
      }
      return performance.now() - t0;
    },
    async check() {
      const { rows } = await db.query<{ status: string; n: number }>(
        "SELECT data->>'status' AS status, count(*)::int AS n FROM rw_sessions GROUP BY 1",
      );
      const { rows: stepRows } = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM rw_steps WHERE data->>'status' = 'succeeded' AND (data->>'attempts')::int = 1",
      );
      const succeeded = rows.find((r) => r.status === "succeeded")?.n ?? 0;
      const total = rows.reduce((sum, r) => sum + r.n, 0);
      if (total !== sent || succeeded !== total || stepRows[0]!.n !== total * 3) {
        throw new Error(
          `scale-out with ${instances} instances lost or repeated work: ${JSON.stringify(rows)} for ${sent} tickets, ${stepRows[0]!.n} steps ran once`,
        );
      }
    },
    close,
  };
}

/**
 * Compares two clusters on the same work: both up at once, `rounds` chunks of `chunk` sessions
 * each, alternating ABAB (order swapped every round) after a warm-up chunk each; both checked for
 * lost or repeated work afterwards.
 */
async function compare(
  ours: () => Promise<Cluster>,
  baseline: () => Promise<Cluster>,
  chunk: number,
  rounds: number,
) {
  const clusters: Cluster[] = [];
  try {
    const a = await ours();
    clusters.push(a);
    const b = await baseline();
    clusters.push(b);
    const result = await interleave(
      () => a.run(chunk),
      () => b.run(chunk),
      { rounds, warmup: 1 },
    );
    await a.check();
    await b.check();
    return result;
  } finally {
    for (const c of clusters) await c.close();
  }
}

/**
 * Scale-out on PostgreSQL, sessions of three local `true` steps, tickets fed to the engine
 * processes in turn 50 at a time (as behind a load balancer), every session and step checked to
 * have run exactly once afterwards.
 *
 * - Same total concurrency, interleaved: three engine processes running 4 sessions at once each
 *   against one running 12, both clusters up at once and fed chunk by chunk in turn (ABAB);
 *   median of per-chunk throughput ratios. On 2 cores three processes cannot be three times as
 *   fast; the goal (>= 1) is that splitting the same work across instances costs nothing.
 * - Pinned (where `taskset` exists and there are at least 2 CPUs): one engine process pinned to
 *   CPU 0 running 8 at once, against two pinned to CPU 0 and CPU 1 running 4 each, interleaved
 *   the same way. Only the engine processes are pinned (PostgreSQL, the bench process and the
 *   local connector's spawn helpers, which inherit their engine's affinity, are not: PostgreSQL
 *   runs on both CPUs for both sides). Doubling the cores the engines may use should show as
 *   throughput: goal >= 1.5.
 */
export default defineRows("Scale-out (PostgreSQL)", async ({ quick }) => {
  const chunk = quick ? 40 : 300;
  const rounds = quick ? 2 : 6;
  const rows: BenchRow[] = [];
  const same = await compare(
    () => startCluster(3, 4),
    () => startCluster(1, 12),
    chunk,
    rounds,
  );
  rows.push(
    interleavedRow(
      "throughput",
      `scale-out: 3 instances × 4 vs 1 × 12 sessions at once (PostgreSQL, 3 local steps each)`,
      "sessions/s",
      same,
      1,
      {
        perRound: chunk,
        note: `${rounds} chunks of ${chunk} per side, unpinned on ${cpus().length} CPUs; nothing lost or run twice`,
      },
    ),
  );
  if (cpus().length >= 2 && hasTaskset()) {
    const pinned = await compare(
      () => startCluster(2, 4, [0, 1]),
      () => startCluster(1, 8, [0]),
      chunk,
      rounds,
    );
    rows.push(
      interleavedRow(
        "throughput",
        "scale-out pinned: 2 instances on CPUs 0,1 × 4 vs 1 on CPU 0 × 8 sessions at once (PostgreSQL)",
        "sessions/s",
        pinned,
        1.5,
        {
          perRound: chunk,
          note: `taskset -c pins the engine processes only (their spawn helpers inherit it; PostgreSQL and the bench process unpinned); ${rounds} chunks of ${chunk} per side; nothing lost or run twice`,
        },
      ),
    );
  } else {
    rows.push({
      name: "scale-out pinned: 2 instances on CPUs 0,1 vs 1 on CPU 0 (PostgreSQL)",
      unit: "sessions/s",
      value: Number.NaN,
      baseline: Number.NaN,
      ratio: Number.NaN,
      goal: ">= 1.5",
      met: false,
      note: `not measured: ${cpus().length < 2 ? "fewer than 2 CPUs" : "no taskset on this machine"}`,
    });
  }
  return rows;
});
