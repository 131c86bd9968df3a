import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEngine, type Engine, type Storage } from "@runwarden/core";
import { parseRunbook } from "@runwarden/runbook-parser";
import { createPostgresStorage } from "@runwarden/storage-postgres";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import pg from "pg";
import { generateRunbook } from "../generate.js";
import { type BenchRow, defineRows, interleave, interleavedRow, seededRandom } from "../harness.js";

const server = process.env.RUNWARDEN_PG_URL ?? "postgres://postgres@127.0.0.1:5432";

/**
 * Loading stored runbooks: `runbooks.get(id)` reads the record from the store (SQLite, then
 * PostgreSQL) and `runbooks.plan(record)` finds its parsed plan under the sha256 of its Markdown,
 * against parsing the same Markdown with `parseRunbook`. Both sides do the same chunk of runbooks
 * alternately (ABAB); goal >= 20× (a stored runbook must not be parsed again).
 */
export default defineRows("Cached runbook load", async ({ quick }) => {
  const count = quick ? 1_000 : 5_000;
  const rand = seededRandom(0x4c4f4144);
  const corpus = Array.from({ length: count }, (_, i) => generateRunbook(rand, i));
  const chunk = 50;
  const rounds = count / chunk;
  const actor = { id: "bench", roles: ["admin" as const] };
  let sink = 0;

  const measure = async (engine: Engine, label: string): Promise<BenchRow> => {
    const ids: number[] = [];
    const markdown: string[] = [];
    for (const md of corpus) {
      const { runbook } = await engine.runbooks.create(md, { actor, useFrontMatterStatus: true });
      ids.push(runbook.id);
      markdown.push(runbook.markdown);
    }
    const result = await interleave(
      async (r) => {
        const at = ((r + rounds) % rounds) * chunk;
        const t0 = performance.now();
        for (let i = at; i < at + chunk; i++) {
          const record = await engine.runbooks.get(ids[i]!);
          sink += engine.runbooks.plan(record).title.length;
        }
        return performance.now() - t0;
      },
      (r) => {
        const at = ((r + rounds) % rounds) * chunk;
        const t0 = performance.now();
        for (let i = at; i < at + chunk; i++) sink += parseRunbook(markdown[i]!).diagnostics.length;
        return performance.now() - t0;
      },
      { rounds, warmup: 2 },
    );
    return interleavedRow(
      "throughput",
      `load stored runbooks (${label}) vs parse them`,
      "runbooks/s",
      result,
      20,
      {
        perRound: chunk,
        note: `${count} stored runbooks, ${chunk} per round: runbooks.get + plan (sha256-keyed) vs parseRunbook`,
      },
    );
  };

  const rows: BenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), "rw-bench-load-"));
  try {
    const storage: Storage = createSqliteStorage({ path: join(dir, "bench.db") });
    const engine = await createEngine({ storage, vault: { key: Buffer.alloc(32, 6) } });
    try {
      rows.push(await measure(engine, "SQLite"));
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const database = `rw_bench_load_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: `${server}/postgres` });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${database}`);
    const engine = await createEngine({
      storage: await createPostgresStorage({ connectionString: `${server}/${database}` }),
      vault: { key: Buffer.alloc(32, 6) },
    });
    try {
      rows.push(await measure(engine, "PostgreSQL"));
    } finally {
      await engine.close();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
  if (sink < 0) throw new Error("unreachable");
  return rows;
});
