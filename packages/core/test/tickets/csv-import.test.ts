import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type AnalysisPool, poolThreads } from "../../src/analyzer/pool.js";
import {
  createEngine,
  createMemoryStorage,
  defineAnalyzerStage,
  type Engine,
  type EngineEventMap,
  rwError,
  type Storage,
} from "../../src/index.js";
import { csvImportLeaseName } from "../../src/tickets/csv-import.js";
import { type Intake, loadSampleRunbooks, makeIntake } from "../support/engine-context.js";

const header = "title,description,severity,environment,service,source";

/** An engine with the intake queue on, over `storage` kept open when the engine closes (a "restart"). */
async function engineOn(storage: Storage): Promise<Engine> {
  const kept: Storage = { ...storage, close: async () => {} };
  return createEngine({ storage: kept, intake: { enabled: true } });
}

/** 24 rows: 4 titles repeated, every 6th row bad (no title). */
function csvWithRepeatsAndBadRows(): string {
  const rows = Array.from({ length: 24 }, (_, i) =>
    i % 6 === 5 ? ",no title,low,prod,api,x" : `Alert ${i % 4},,low,prod,api,x`,
  );
  return [header, ...rows, ""].join("\n");
}

describe("durable CSV import (intake queue on)", () => {
  it("stores the file as queued chunks first and reports like a direct import when the queue is on", async () => {
    const storage = createMemoryStorage();
    const kinds: string[] = [];
    const enqueue = storage.enqueueIntake.bind(storage);
    storage.enqueueIntake = async (entry, bounds) => {
      kinds.push(entry.kind);
      return enqueue(entry, bounds);
    };
    const engine = await engineOn(storage);
    const progressed: number[] = [];
    engine.events.on("import:progressed", (e) => progressed.push(e.rows));
    const result = await engine.tickets.importCsv(csvWithRepeatsAndBadRows(), {
      batchSize: 5,
      progressEvery: 10,
    });

    // 24 rows in chunks of 5 (5 chunks) and the summary: all queued before any row is stored.
    expect(kinds).toEqual(["csv", "csv", "csv", "csv", "csv", "csv"]);
    expect(result).toMatchObject({
      rows: 24,
      imported: 4,
      deduplicated: 16,
      rejected: 4,
      errorsTruncated: false,
    });
    expect(result.errors.map((e) => [e.row, e.line, e.reason])).toEqual([
      [6, 7, "title is required"],
      [12, 13, "title is required"],
      [18, 19, "title is required"],
      [24, 25, "title is required"],
    ]);
    // Ticket ids in good-row order; repeats across chunks fold into one ticket per title.
    const ids = result.ticketIds!;
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(4);
    expect(result.outcomes?.slice(0, 5).map((o) => [o.row, o.outcome])).toEqual([
      [1, "imported"],
      [2, "imported"],
      [3, "imported"],
      [4, "imported"],
      [5, "folded"],
    ]);
    const all = await engine.storage.tickets.find({ order: "asc", limit: 10 });
    expect(all.map((t) => t.occurrences)).toEqual([6, 4, 6, 4]);
    expect(all.every((t) => t.analysis !== null)).toBe(true);
    expect(progressed).toEqual([10, 20]);
    // Every chunk was consumed by the write that stored it.
    expect((await engine.intake.depth()).entries).toBe(0);
    await engine.close();
  });

  it("finishes at the next start an import whose store failed midway, each row stored once", async () => {
    const storage = createMemoryStorage();
    const ingest = storage.ingestTickets.bind(storage);
    let writes = 0;
    const failing: Storage = {
      ...storage,
      ingestTickets: async (docs, options) => {
        // The store goes away after two chunks were stored (as a killed process would).
        if (++writes > 2) throw rwError("RW_ERR_STORAGE_UNAVAILABLE", "the store went away");
        return ingest(docs, options);
      },
    };
    const first = await engineOn(failing);
    await expect(first.tickets.importCsv(csvWithRepeatsAndBadRows(), { batchSize: 5 })).rejects.toThrow(
      "the store went away",
    );
    await first.close();
    // Two chunks stored; three chunks and the summary wait.
    expect((await storage.intakeDepth()).entries).toBe(4);

    const second = await engineOn(storage);
    const resumed = new Promise<unknown>((resolve) => second.events.on("import:resumed", resolve));
    await second.start();
    expect(await resumed).toMatchObject({
      rows: 24,
      rejected: 4,
      imported: 0,
      deduplicated: 11,
      errors: [
        { row: 6, line: 7 },
        { row: 12, line: 13 },
        { row: 18, line: 19 },
        { row: 24, line: 25 },
      ],
      errorsTruncated: false,
    });
    const all = await second.storage.tickets.find({ order: "asc", limit: 10 });
    expect(all.map((t) => [t.title, t.occurrences])).toEqual([
      ["Alert 0", 6],
      ["Alert 1", 4],
      ["Alert 2", 6],
      ["Alert 3", 4],
    ]);
    expect((await second.intake.depth()).entries).toBe(0);
    await second.close();
  });
});

/** An engine with the queue on over `storage` as a store shared by several instances (as PostgreSQL). */
async function instanceOn(
  storage: Storage,
  instanceId: string,
  stage?: Parameters<typeof defineAnalyzerStage>[0],
): Promise<Engine> {
  const shared: Storage = { ...storage, shared: true, close: async () => {} };
  return createEngine({
    storage: shared,
    instanceId,
    policy: { leaseTtlMs: 600 },
    intake: { enabled: true },
    ...(stage ? { analyzer: { stages: (built) => [defineAnalyzerStage(stage), ...built] } } : {}),
  });
}

describe("durable CSV import with a shared store", () => {
  it("resumes an unfinished import on exactly one of two instances starting together", async () => {
    const storage = createMemoryStorage();
    const ingest = storage.ingestTickets.bind(storage);
    let writes = 0;
    const failing: Storage = {
      ...storage,
      ingestTickets: async (docs, options) => {
        if (++writes > 2) throw rwError("RW_ERR_STORAGE_UNAVAILABLE", "the store went away");
        return ingest(docs, options);
      },
    };
    const first = await instanceOn(failing, "engine-first");
    await expect(first.tickets.importCsv(csvWithRepeatsAndBadRows(), { batchSize: 5 })).rejects.toThrow(
      "the store went away",
    );
    await first.close();
    expect((await storage.intakeDepth()).entries).toBe(4);

    const a = await instanceOn(storage, "engine-a");
    const b = await instanceOn(storage, "engine-b");
    const resumed: { on: string; report: EngineEventMap["import:resumed"] }[] = [];
    a.events.on("import:resumed", (report) => resumed.push({ on: "a", report }));
    b.events.on("import:resumed", (report) => resumed.push({ on: "b", report }));
    await Promise.all([a.start(), b.start()]);
    await waitFor(async () => (await storage.intakeDepth()).entries === 0);
    await waitFor(async () => resumed.length > 0);
    // A few periodic checks later, still one report: the other instance never resumed it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(resumed).toHaveLength(1);
    expect(resumed[0]!.report).toMatchObject({ rows: 24, rejected: 4, imported: 0, deduplicated: 11 });
    const all = await a.storage.tickets.find({ order: "asc", limit: 10 });
    expect(all.map((t) => [t.title, t.occurrences])).toEqual([
      ["Alert 0", 6],
      ["Alert 1", 4],
      ["Alert 2", 6],
      ["Alert 3", 4],
    ]);
    await Promise.all([a.close(), b.close()]);
  });

  it("never resumes an import another instance is still running", async () => {
    const storage = createMemoryStorage();
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reached!: () => void;
    const arrived = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const a = await instanceOn(storage, "engine-a", {
      name: "slow",
      async run() {
        reached();
        await released;
      },
    });
    const b = await instanceOn(storage, "engine-b");
    const resumedOnB: unknown[] = [];
    b.events.on("import:resumed", (report) => resumedOnB.push(report));
    await a.start();
    const importing = a.tickets.importCsv(csvWithRepeatsAndBadRows(), { batchSize: 5 });
    await arrived;
    // A is storing its first chunk, the rest queued: B starts and checks for orphans a few times.
    const source = Object.keys((await storage.intakeDepth()).sources).find((s) => s.startsWith("csv:"))!;
    const holder = await storage.leases.get(csvImportLeaseName(source.slice("csv:".length)));
    expect(holder?.owner).toBe("engine-a");
    await b.start();
    await new Promise((resolve) => setTimeout(resolve, 700));
    release();
    expect(await importing).toMatchObject({ rows: 24, imported: 4, deduplicated: 16, rejected: 4 });
    expect(resumedOnB).toEqual([]);
    expect((await storage.intakeDepth()).entries).toBe(0);
    await Promise.all([a.close(), b.close()]);
  });
});

async function waitFor(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("CSV import with analysis workers", () => {
  const sample = readFileSync(join(import.meta.dirname, "../../../../tickets_sample.csv"), "utf8");
  /** The sample file twice over (the second half folds), plus a bad row. */
  const file = `${sample.trimEnd()}\n${sample.trimEnd().split("\n").slice(1).join("\n")}\n,no title,low,prod,api,x\n`;

  /**
   * Ends the pool's worker as batch `n` is sent: the batch goes to a thread that is stopping, so
   * it is lost with it (the batches before it were sent to a live thread).
   */
  function crashOnBatch(pool: AnalysisPool, n: number): void {
    const analyze = pool.analyze.bind(pool);
    let calls = 0;
    pool.analyze = (items, options) => {
      if (++calls === n) for (const thread of pool[poolThreads]()) void thread.terminate();
      return analyze(items, options);
    };
  }

  /** Every stored ticket, oldest first. */
  async function storedTickets(intake: Intake) {
    return intake.ctx.storage.tickets.find({ order: "asc", limit: 500 });
  }

  for (const durable of [false, true]) {
    it(`stores exactly the tickets in-process analysis stores, analyses included, when the import is ${durable ? "durable" : "direct"}`, async () => {
      const stored = [];
      const results = [];
      for (const workers of [0, 1]) {
        const intake = await makeIntake({ workers, ...(durable ? { intakeQueue: { enabled: true } } : {}) });
        await loadSampleRunbooks(intake.runbooks);
        results.push(await intake.tickets.importCsv(file, { batchSize: 7 }));
        stored.push(await storedTickets(intake));
        if (workers > 0) expect(intake.pool?.[poolThreads]()).toHaveLength(1);
        await intake.pool?.close();
      }
      expect(results[1]).toStrictEqual(results[0]);
      expect(results[0]).toMatchObject({ rows: 81, imported: 40, deduplicated: 40, rejected: 1 });
      expect(stored[1]).toStrictEqual(stored[0]);
      expect(stored[0]!.filter((t) => (t.analysis?.candidates.length ?? 0) > 0).length).toBeGreaterThan(20);
    });
  }

  it("analyzes in-process when the analyzer has host stages", async () => {
    const intake = await makeIntake({
      workers: 1,
      stages: [
        {
          name: "owner",
          run: (state) => {
            state.category = "host-owned";
          },
        },
      ],
    });
    const result = await intake.tickets.importCsv(sample);
    expect(result.imported).toBe(40);
    expect(intake.pool?.[poolThreads]()).toHaveLength(0);
    // The host's stage ran (on the main thread) for every row.
    expect((await storedTickets(intake)).every((t) => t.analysis?.category === "host-owned")).toBe(true);
    await intake.pool?.close();
  });

  it("fails a direct import with RW_ERR_ANALYSIS_WORKER when its worker crashes, keeping the batches stored before", async () => {
    const intake = await makeIntake({ workers: 1 });
    // Batch 6 is sent once batch 3 is written (two batches at most in flight before it), so
    // batches 1–3 are stored whatever the timing, and the crash fails the ones the worker held.
    crashOnBatch(intake.pool!, 6);
    const result = intake.tickets.importCsv(sample, { batchSize: 5 });
    await expect(result).rejects.toMatchObject({ code: "RW_ERR_ANALYSIS_WORKER" });
    const stored = await storedTickets(intake);
    expect(stored.length).toBeGreaterThanOrEqual(15);
    expect(stored.length).toBeLessThan(40);
    expect(stored.every((t) => t.analysis !== null)).toBe(true);
    await intake.pool?.close();
  });

  it("fails a durable import when its worker crashes, and the next start stores every chunk not stored", async () => {
    const storage = createMemoryStorage();
    const first = await makeIntake({ storage, workers: 1, intakeQueue: { enabled: true } });
    crashOnBatch(first.pool!, 3);
    const failed = first.tickets.importCsv(file, { batchSize: 10 });
    await expect(failed).rejects.toMatchObject({ code: "RW_ERR_ANALYSIS_WORKER" });
    const waiting = (await storage.intakeDepth()).entries;
    expect(waiting).toBeGreaterThan(1);
    await first.pool?.close();

    const second = await makeIntake({ storage, workers: 1, intakeQueue: { enabled: true } });
    const resumed = new Promise<Record<string, unknown>>((resolve) =>
      second.ctx.events.on("import:resumed", (e) => resolve(e as never)),
    );
    second.tickets.queue.start();
    expect(await resumed).toMatchObject({ rows: 81, rejected: 1 });
    await second.tickets.queue.close();
    expect((await storage.intakeDepth()).entries).toBe(0);
    const stored = await storedTickets(second);
    // Every good row stored once: 40 tickets, each seen twice.
    expect(stored).toHaveLength(40);
    expect(stored.every((t) => t.occurrences === 2 && t.analysis !== null)).toBe(true);
    await second.pool?.close();
  });
});

describe("createEngine({ analysis })", () => {
  it("stores analyzed tickets when the import runs with an analysis worker", async () => {
    const engine = await createEngine({ analysis: { workers: 1 } });
    const result = await engine.tickets.importCsv(
      [header, "Disk full on web-01,No space left on device,high,prod,web,x", ""].join("\n"),
    );
    expect(result.imported).toBe(1);
    const [ticket] = await engine.storage.tickets.find({ limit: 1 });
    expect(ticket?.analysis?.decision).toEqual({ action: "none", reason: "no runbook matched" });
    await engine.close();
  });

  it("refuses a worker count that is not a whole number of 0 or more", async () => {
    await expect(createEngine({ analysis: { workers: -1 } })).rejects.toMatchObject({
      code: "RW_ERR_CONFIG_INVALID",
    });
    await expect(createEngine({ analysis: { workers: 1.5 } })).rejects.toMatchObject({
      code: "RW_ERR_CONFIG_INVALID",
    });
  });
});
