import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createEngine } from "../src/engine.js";
import { createMemoryStorage } from "../src/storage-memory.js";

describe("Engine.countByStatus", () => {
  it("counts tickets by status, listing only the statuses that have some", async () => {
    const engine = await createEngine({ vault: { key: randomBytes(32) } });
    const { ticket } = await engine.tickets.ingest({ title: "Counted one" }, { autoExecute: false });
    await engine.tickets.ingest({ title: "Counted two", service: "web" }, { autoExecute: false });
    await engine.tickets.setStatus(ticket.id, "resolved", "fixed by hand");
    expect(await engine.countByStatus("tickets")).toEqual({ analyzed: 1, resolved: 1 });
    expect(await engine.countByStatus("approvals")).toEqual({});
    await engine.close();
  });
});

describe("Engine.checkStorage", () => {
  it("reports the store's kind, and a store that cannot answer as not ok instead of throwing", async () => {
    const storage = createMemoryStorage();
    const engine = await createEngine({ storage, vault: { key: randomBytes(32) } });
    expect(await engine.checkStorage()).toEqual({ kind: "memory", ok: true });
    const failure = new Error("store down");
    storage.getValue = () => Promise.reject(failure);
    expect(await engine.checkStorage()).toEqual({ kind: "memory", ok: false, error: failure });
    await engine.close();
  });
});
