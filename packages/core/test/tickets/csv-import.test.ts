import { describe, expect, it } from "vitest";
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
