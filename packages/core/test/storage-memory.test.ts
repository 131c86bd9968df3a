import { describe, expect, it } from "vitest";
import { createMemoryStorage } from "../src/storage-memory.js";
import { describeStorageContract } from "./storage/contract.js";
import { newTicket } from "./storage/fixtures.js";

describeStorageContract("memory", async () => ({ storage: createMemoryStorage() }), { durable: false });

describe("createMemoryStorage", () => {
  it("describes itself as a single-process store when asked", () => {
    const storage = createMemoryStorage();
    expect([storage.kind, storage.shared]).toEqual(["memory", false]);
  });

  it("folds every repeat of a 10,000-ticket batch into its first ticket", async () => {
    const storage = createMemoryStorage();
    const inputs = Array.from({ length: 10_000 }, (_, i) => newTicket({ fingerprint: `f${i % 5_000}` }));
    const outcomes = await storage.ingestTickets(inputs, {
      dedupeWindowMs: 60_000,
      now: inputs[0]!.receivedAt,
    });
    expect(outcomes.filter((o) => o.deduplicated)).toHaveLength(5_000);
    expect(await storage.tickets.count({ fingerprint: "f42" })).toBe(1);
  });
});
