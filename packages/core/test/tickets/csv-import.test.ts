import { describe, expect, it } from "vitest";
import { createEngine, createMemoryStorage, type Engine, rwError, type Storage } from "../../src/index.js";

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
