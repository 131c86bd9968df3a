/**
 * Concurrent `POST /tickets/webhook/generic` on SQLite: the adapter does not batch requests; their
 * writes reach the store together and the store's group commit shares one transaction between
 * them, each in its own savepoint, so one request's failure is never another's.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Storage } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Harness, setup } from "../helpers.js";

let h: Harness;
let dir: string;
let storage: Storage;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rw-group-commit-"));
  storage = createSqliteStorage({ path: join(dir, "store.db") });
  h = await setup({ storage, adapter: { webhooks: { generic: { secret: "generic-secret-0123456789" } } } });
});
afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = (body: unknown) =>
  h.json("POST", "/tickets/webhook/generic", {
    token: null,
    json: body,
    headers: { "x-runwarden-webhook-secret": "generic-secret-0123456789" },
  });

/**
 * Watches the store's ticket writes: `together` is the most writes that were waiting for a commit
 * at the same time (the SQLite store commits every write waiting in a turn in one transaction).
 */
function watchWrites(poison?: string) {
  const real = storage.ingestTickets.bind(storage);
  let waiting = 0;
  const seen = { calls: 0, together: 0 };
  const spy = vi.spyOn(storage, "ingestTickets").mockImplementation((docs, options) => {
    seen.calls++;
    waiting++;
    seen.together = Math.max(seen.together, waiting);
    // A poisoned ticket cannot be serialised: its write throws inside the shared transaction.
    const written = docs.map((d) => (d.title === poison ? { ...d, metaData: { n: 1n } } : d));
    return real(written, options).finally(() => {
      waiting--;
    });
  });
  return { seen, restore: () => spy.mockRestore() };
}

describe("POST /tickets/webhook/generic, concurrent requests on SQLite", () => {
  it("stores concurrent webhooks in shared commits and answers each with its own tickets", async () => {
    const writes = watchWrites();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post({ title: `Concurrent alert ${i}`, severity: "warning" })),
    );
    writes.restore();
    expect(answers.every((a) => a.status === 202)).toBe(true);
    const ids = answers.map((a) => a.body.tickets[0].id);
    expect(new Set(ids).size).toBe(20);
    for (const [i, a] of answers.entries()) {
      expect((await h.engine.tickets.get(a.body.tickets[0].id)).title).toBe(`Concurrent alert ${i}`);
      expect(a.body.warnings).toEqual([]);
    }
    expect(writes.seen.calls).toBe(20);
    expect(writes.seen.together).toBeGreaterThan(1);
  });

  it("answers an invalid request with its own 422 without failing the others", async () => {
    const answers = await Promise.all([
      post({ title: "Fine one" }),
      post({ description: "no title" }),
      post({ title: "Fine two" }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([202, 422, 202]);
  });

  it("answers a 100k-deep body alone and still stores the good webhook sent with it", async () => {
    const deep = `{"title":"Deep one","meta_data":${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}}`;
    const answers = await Promise.all([
      h.json("POST", "/tickets/webhook/generic", {
        token: null,
        body: deep,
        headers: {
          "content-type": "application/json",
          "x-runwarden-webhook-secret": "generic-secret-0123456789",
        },
      }),
      post({ title: "Good one beside a deep one" }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([400, 202]);
    expect(answers[0]!.body.error.code).toBe("RW_ERR_INPUT_MALFORMED");
    expect(answers[0]!.body.error.message).toMatch(/nested deeper than 64 levels/);
    expect((await h.engine.tickets.get(answers[1]!.body.tickets[0].id)).title).toBe(
      "Good one beside a deep one",
    );
  });

  it("commits the others of a shared commit when one member's write fails, answering that one alone", async () => {
    const writes = watchWrites("Poisoned");
    const answers = await Promise.all([
      post({ title: "Batch mate one" }),
      post({ title: "Poisoned" }),
      post({ title: "Batch mate two" }),
    ]);
    writes.restore();
    expect(writes.seen.together).toBe(3);
    expect(answers.map((a) => a.status)).toEqual([202, 500, 202]);
    for (const a of [answers[0]!, answers[2]!])
      expect((await h.engine.tickets.get(a.body.tickets[0].id)).id).toBeTypeOf("number");
    expect((await h.engine.tickets.list({ limit: 500 })).items.map((t) => t.title)).not.toContain("Poisoned");
  });

  it("lets core resolve an open ticket when the alert says resolved", async () => {
    const opened = await post({ title: "Flapping disk alert", external_id: "FL-1", service: "nginx" });
    const resolved = await post({
      title: "Flapping disk alert",
      external_id: "FL-1",
      service: "nginx",
      resolved: true,
    });
    expect(resolved.status).toBe(202);
    expect(resolved.body.resolved).toEqual([opened.body.tickets[0].id]);
  });

  it("maps a tool's severity and warns about unknown fields and severities", async () => {
    const answer = await post([
      { title: "Mapped a", severity: "P1", extra: 1 },
      { title: "Mapped b", severity: "weird" },
    ]);
    expect(answer.status).toBe(202);
    expect(answer.body.warnings).toEqual([
      "[0].ignored unknown field(s): extra",
      '[1].severity: unknown severity "weird" mapped to medium',
    ]);
    const [a, b] = await Promise.all(
      answer.body.tickets.map((t: { id: number }) => h.engine.tickets.get(t.id)),
    );
    expect(a).toMatchObject({ title: "Mapped a", severity: "critical", source: "generic" });
    expect(b).toMatchObject({ title: "Mapped b", severity: "medium" });
  });
});
