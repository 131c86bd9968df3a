import { describe, expect, it } from "vitest";
import { createEngine } from "../src/index.js";

describe("createAuditLog", () => {
  it("records who did what to which object, when and from where", async () => {
    const engine = await createEngine();
    const event = await engine.audit.record({
      actor: { id: "alice" },
      action: "session.started",
      objectType: "session",
      objectId: 7,
      origin: "10.0.0.1",
      details: { ticketId: 3 },
    });
    expect(event).toMatchObject({
      actor: "alice",
      action: "session.started",
      objectType: "session",
      objectId: "7",
      origin: "10.0.0.1",
    });
    expect(Date.parse(event.at)).not.toBeNaN();
    await engine.close();
  });

  it("masks fields named like secrets in details", async () => {
    const engine = await createEngine();
    const event = await engine.audit.record({
      actor: "alice",
      action: "credential.updated",
      objectType: "credential",
      objectId: "1",
      details: { name: "db", password: "hunter2", nested: { api_key: "k-123" } },
    });
    expect(JSON.stringify(event)).not.toMatch(/hunter2|k-123/);
    expect(event.details).toMatchObject({
      name: "db",
      password: "********",
      nested: { api_key: "********" },
    });
    await engine.close();
  });

  it("lists newest first with filters and a cursor", async () => {
    const engine = await createEngine();
    for (let i = 0; i < 5; i++) {
      await engine.audit.record({
        actor: i % 2 ? "bob" : "alice",
        action: "x.done",
        objectType: "thing",
        objectId: i,
      });
    }
    const first = await engine.audit.list({ objectType: "thing", limit: 2 });
    expect(first.items.map((e) => e.objectId)).toEqual(["4", "3"]);
    const second = await engine.audit.list({ objectType: "thing", limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((e) => e.objectId)).toEqual(["2", "1"]);
    expect((await engine.audit.list({ actor: "bob" })).items).toHaveLength(2);
    expect((await engine.audit.list({ objectType: "thing", objectId: 0 })).items).toHaveLength(1);
    await engine.close();
  });

  it("is append-only in the store", async () => {
    const engine = await createEngine();
    const event = await engine.audit.record({ actor: "a", action: "x.y", objectType: "t", objectId: 1 });
    await expect(engine.storage.audit.update(event.id, event.version, { actor: "b" })).rejects.toThrow();
    await expect(engine.storage.audit.delete(event.id)).rejects.toThrow();
    await engine.close();
  });
});
