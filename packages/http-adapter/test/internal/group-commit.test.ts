import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { prepareGeneric } from "../../src/internal/group-commit.js";
import { type Harness, setup } from "../helpers.js";

let h: Harness;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rw-group-commit-"));
  h = await setup({
    storage: createSqliteStorage({ path: join(dir, "store.db") }),
    adapter: { webhooks: { generic: { secret: "generic-secret-0123456789" } } },
  });
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

describe("createGroupCommit", () => {
  it("stores concurrent webhooks in shared transactions and answers each with its own tickets", async () => {
    const spy = vi.spyOn(h.engine.tickets, "ingestMany");
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post({ title: `Concurrent alert ${i}`, severity: "warning" })),
    );
    expect(answers.every((a) => a.status === 202)).toBe(true);
    const ids = answers.map((a) => a.body.tickets[0].id);
    expect(new Set(ids).size).toBe(20);
    for (const [i, a] of answers.entries()) {
      expect((await h.engine.tickets.get(a.body.tickets[0].id)).title).toBe(`Concurrent alert ${i}`);
      expect(a.body.warnings).toEqual([]);
    }
    expect(spy.mock.calls.length).toBeLessThan(20);
    spy.mockRestore();
  });

  it("answers an invalid request with its own 422 without failing the others of its batch", async () => {
    const answers = await Promise.all([
      post({ title: "Fine one" }),
      post({ description: "no title" }),
      post({ title: "Fine two" }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([202, 422, 202]);
  });

  it("answers a 100k-deep body alone and still stores the good webhook of its batch", async () => {
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

  it("commits the others of a batch when one member's write fails, answering that one alone", async () => {
    const real = h.engine.tickets.ingestMany.bind(h.engine.tickets);
    // The store refuses any transaction holding the poisoned ticket (as a serialisation failure would).
    const spy = vi.spyOn(h.engine.tickets, "ingestMany").mockImplementation(async (inputs, options) => {
      if (inputs.some((i) => (i as { title: string }).title === "Poisoned")) throw new Error("boom");
      return real(inputs, options);
    });
    const answers = await Promise.all([
      post({ title: "Batch mate one" }),
      post({ title: "Poisoned" }),
      post({ title: "Batch mate two" }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([202, 500, 202]);
    expect(spy.mock.calls[0]![0]).toHaveLength(3);
    for (const a of [answers[0]!, answers[2]!])
      expect((await h.engine.tickets.get(a.body.tickets[0].id)).id).toBeTypeOf("number");
    spy.mockRestore();
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
});

describe("prepareGeneric", () => {
  it("maps a tool's severity the way core does and warns about unknown fields and severities", () => {
    const prepared = prepareGeneric(
      [
        { title: "a", severity: "P1", extra: 1 },
        { title: "b", severity: "weird" },
      ],
      "generic",
    );
    expect(prepared?.inputs).toMatchObject([
      { title: "a", severity: "critical", source: "generic" },
      { title: "b", severity: "medium" },
    ]);
    expect(prepared?.warnings).toEqual([
      "[0].ignored unknown field(s): extra",
      '[1].severity: unknown severity "weird" mapped to medium',
    ]);
  });

  it("leaves anything not plainly valid to core", () => {
    expect(prepareGeneric("text", "generic")).toBeUndefined();
    expect(prepareGeneric([], "generic")).toBeUndefined();
    expect(prepareGeneric({ title: "" }, "generic")).toBeUndefined();
    expect(prepareGeneric({ title: "x", resolved: true }, "generic")).toBeUndefined();
  });
});
