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
