import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Ticket } from "../src/domain.js";
import { isRunwardenError } from "../src/errors.js";
import { defineConnector } from "../src/plugin.js";
import { loadSampleRunbooks, makeIntake } from "./support/engine-context.js";

const disk = {
  title: "Disk full on build agent",
  description: "No space left on device (ENOSPC) writing to /tmp on ci-agent-07.internal",
  severity: "high",
  environment: "dev",
  service: "ci",
  source: "datadog",
};

async function errorOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (err) {
    if (isRunwardenError(err)) return err;
    throw err;
  }
  throw new Error("expected an error");
}

const alertmanagerLike = defineConnector({
  kind: "monitoring",
  name: "alertmanager",
  version: "1.0.0",
  sdk: "^0.1.0",
  configSchema: z.object({ secret: z.string().default("s") }),
  capabilities: ["webhook"],
  create: (config) => ({
    verifyWebhook: (req) => req.headers.authorization === `Bearer ${config.secret}`,
    parseWebhook: (req) => {
      const body = req.body as { alerts: { status: string; name: string; fp: string; sev: string }[] };
      return {
        tickets: body.alerts.map((a) => ({
          title: a.name,
          severity: a.sev as "high",
          fingerprint: a.fp,
          service: "ci",
          environment: "dev",
          resolved: a.status === "resolved",
        })),
        warnings: [],
      };
    },
  }),
});

describe("createTicketsApi", () => {
  it("stores an analyzed ticket and starts auto-execution when analysis says so", async () => {
    const started: Ticket[] = [];
    const { tickets, runbooks, ctx } = await makeIntake({ autoExecute: async (t) => void started.push(t) });
    await loadSampleRunbooks(runbooks);
    const events: string[] = [];
    ctx.events.on("ticket:ingested", () => events.push("ingested"));
    ctx.events.on("ticket:analyzed", () => events.push("analyzed"));
    const { ticket, deduplicated } = await tickets.ingest(disk);
    expect(deduplicated).toBe(false);
    expect(ticket).toMatchObject({
      status: "analyzed",
      occurrences: 1,
      externalId: null,
      statusReason: null,
    });
    expect(ticket.analysis?.decision.action).toBe("auto_execute");
    expect(started.map((t) => t.id)).toEqual([ticket.id]);
    expect(events).toEqual(["ingested", "analyzed"]);
  });

  it("folds a repeat into the open ticket and never starts a second execution when it comes again", async () => {
    let runs = 0;
    const { tickets, runbooks } = await makeIntake({ autoExecute: async () => void runs++ });
    await loadSampleRunbooks(runbooks);
    const first = await tickets.ingest(disk);
    const second = await tickets.ingest({ ...disk, title: "  disk FULL on build agent " });
    expect(second).toMatchObject({ deduplicated: true, ticket: { id: first.ticket.id, occurrences: 2 } });
    expect(runs).toBe(1);
  });

  it("reopens a flapping ticket for a person instead of running the remediation again", async () => {
    let runs = 0;
    const { tickets, runbooks } = await makeIntake({ autoExecute: async () => void runs++ });
    await loadSampleRunbooks(runbooks);
    const first = await tickets.ingest(disk);
    await tickets.setStatus(first.ticket.id, "resolved", "fixed");
    const again = await tickets.ingest(disk);
    expect(again).toMatchObject({
      deduplicated: true,
      ticket: { id: first.ticket.id, status: "needs_human" },
    });
    expect(again.ticket.statusReason).toMatch(/after it was resolved/);
    expect(runs).toBe(1);
  });

  it("does not auto-execute when the caller says so", async () => {
    let runs = 0;
    const { tickets, runbooks } = await makeIntake({ autoExecute: async () => void runs++ });
    await loadSampleRunbooks(runbooks);
    await tickets.ingest(disk, { autoExecute: false });
    expect(runs).toBe(0);
  });

  it("throws RW_ERR_INPUT_INVALID listing every bad field when the input is invalid", async () => {
    const { tickets } = await makeIntake();
    const err = await errorOf(tickets.ingest({ title: "", severity: "apocalyptic", metaData: "x" }));
    expect(err.code).toBe("RW_ERR_INPUT_INVALID");
    const fields = ((err.details?.fields ?? []) as { field: string }[]).map((f) => f.field).sort();
    expect(fields).toEqual(["metaData", "severity", "title"]);
  });

  it("refuses metaData nested past the depth limit with RW_ERR_INPUT_INVALID rather than crashing", async () => {
    const { tickets } = await makeIntake();
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const err = await errorOf(tickets.ingest({ ...disk, metaData: deep }));
    expect(err.code).toBe("RW_ERR_INPUT_INVALID");
    expect(err.details?.fields).toEqual([
      { field: "metaData", message: expect.stringMatching(/nested deeper than 64 levels/) },
    ]);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect((await errorOf(tickets.ingestMany([disk, { ...disk, metaData: cyclic }]))).code).toBe(
      "RW_ERR_INPUT_INVALID",
    );
    let fine: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 60; i++) fine = { a: fine };
    expect(
      (await tickets.ingest({ ...disk, title: "Nested but fine", metaData: fine })).ticket.id,
    ).toBeTypeOf("number");
  });

  it("reports fields with their index when one of many inputs is invalid", async () => {
    const { tickets } = await makeIntake();
    const err = await errorOf(tickets.ingestMany([disk, { title: 5 }]));
    expect(err.details?.fields).toEqual([expect.objectContaining({ field: "[1].title" })]);
    const stored = await tickets.ingestMany([disk, { ...disk, title: "Other" }]);
    expect(stored.map((r) => r.deduplicated)).toEqual([false, false]);
  });

  it("gets, lists by status and source, and sets status with an event when asked", async () => {
    const { tickets, ctx } = await makeIntake();
    const a = (await tickets.ingest(disk)).ticket;
    const b = (await tickets.ingest({ ...disk, title: "Other", source: "zabbix" })).ticket;
    expect((await tickets.get(a.id)).title).toBe(disk.title);
    expect((await errorOf(tickets.get(999))).code).toBe("RW_ERR_STORAGE_NOT_FOUND");
    const updates: unknown[] = [];
    ctx.events.on("ticket:updated", (e) => updates.push(e));
    await tickets.setStatus(a.id, "needs_human", "approval rejected");
    expect(updates).toEqual([{ ticketId: a.id, status: "needs_human", reason: "approval rejected" }]);
    expect((await tickets.list({ status: "needs_human" })).items.map((t) => t.id)).toEqual([a.id]);
    expect((await tickets.list({ source: "zabbix" })).items.map((t) => t.id)).toEqual([b.id]);
    const page = await tickets.list({ limit: 1 });
    expect(page.items.map((t) => t.id)).toEqual([b.id]);
    expect((await tickets.list({ limit: 1, cursor: page.nextCursor! })).items.map((t) => t.id)).toEqual([
      a.id,
    ]);
  });

  it("returns a template whose header the importer accepts when asked", async () => {
    const { tickets } = await makeIntake();
    const template = tickets.csvTemplate();
    expect(template.split("\n")[0]).toBe("title,description,severity,environment,service,source");
    expect((await tickets.importCsv(template)).imported).toBe(1);
  });
});

describe("TicketsApi.getMany", () => {
  it("returns the tickets of the given ids once each and skips ids with no ticket", async () => {
    const { tickets } = await makeIntake();
    const a = await tickets.ingest({ ...disk, title: "First of many" });
    const b = await tickets.ingest({ ...disk, title: "Second of many", service: "web" });
    const found = await tickets.getMany([b.ticket.id, a.ticket.id, b.ticket.id, 999_999]);
    expect(found.map((t) => t.title).sort()).toEqual(["First of many", "Second of many"]);
    expect(await tickets.getMany([])).toEqual([]);
  });
});

describe("TicketsApi.ingestWebhook", () => {
  it("accepts the documented snake_case JSON on the generic source", async () => {
    const { tickets } = await makeIntake();
    const body = {
      ...disk,
      external_id: 42,
      meta_data: { connection_config: { host: "10.0.0.1" } },
      severity: "P2",
      extra: 1,
    };
    const result = await tickets.ingestWebhook("generic", {
      headers: {},
      body,
      rawBody: JSON.stringify(body),
    });
    expect(result.tickets[0]?.ticket).toMatchObject({
      externalId: "42",
      severity: "high",
      source: "datadog",
      metaData: { connection_config: { host: "10.0.0.1" } },
    });
    expect(result.warnings).toEqual(["ignored unknown field(s): extra"]);
  });

  it("maps an unknown webhook severity to medium with a warning", async () => {
    const { tickets } = await makeIntake();
    const body = [{ title: "A", severity: "apocalyptic" }];
    const result = await tickets.ingestWebhook("generic", { headers: {}, body, rawBody: "" });
    expect(result.tickets[0]?.ticket).toMatchObject({ severity: "medium", source: "generic" });
    expect(result.warnings).toEqual(['[0].severity: unknown severity "apocalyptic" mapped to medium']);
  });

  it("throws RW_ERR_INPUT_INVALID with snake_case fields when the generic body is invalid", async () => {
    const { tickets } = await makeIntake();
    const err = await errorOf(
      tickets.ingestWebhook("generic", {
        headers: {},
        body: [{ title: "ok" }, { meta_data: 3 }],
        rawBody: "",
      }),
    );
    expect(err.code).toBe("RW_ERR_INPUT_INVALID");
    expect(((err.details?.fields ?? []) as { field: string }[]).map((f) => f.field).sort()).toEqual([
      "[1].meta_data",
      "[1].title",
    ]);
    expect(
      (await errorOf(tickets.ingestWebhook("generic", { headers: {}, body: "x", rawBody: "x" }))).code,
    ).toBe("RW_ERR_INPUT_INVALID");
  });

  it("throws RW_ERR_PLUGIN_NOT_FOUND when no connector is registered under the source", async () => {
    const { tickets } = await makeIntake();
    const err = await errorOf(tickets.ingestWebhook("nagios", { headers: {}, body: {}, rawBody: "{}" }));
    expect(err.code).toBe("RW_ERR_PLUGIN_NOT_FOUND");
    expect(err.status).toBe(404);
  });

  it("throws RW_ERR_AUTH_UNAUTHENTICATED when the connector's verification fails", async () => {
    const { tickets } = await makeIntake({ connectors: [alertmanagerLike] });
    const err = await errorOf(
      tickets.ingestWebhook("alertmanager", {
        headers: { authorization: "Bearer nope" },
        body: { alerts: [] },
        rawBody: "",
      }),
    );
    expect(err.code).toBe("RW_ERR_AUTH_UNAUTHENTICATED");
  });

  it("creates tickets from a connector and resolves the open one when a resolved alert arrives", async () => {
    const resolvedHook: string[] = [];
    const { tickets } = await makeIntake({
      connectors: [alertmanagerLike],
      ticketResolved: async (t, reason) => void resolvedHook.push(`${t.id}:${reason}`),
    });
    const headers = { authorization: "Bearer s" };
    const firing = await tickets.ingestWebhook("alertmanager", {
      headers,
      body: { alerts: [{ status: "firing", name: "DiskFull", fp: "abc", sev: "critical" }] },
      rawBody: "",
    });
    const ticket = firing.tickets[0]!.ticket;
    expect(ticket).toMatchObject({
      source: "alertmanager",
      fingerprint: "alertmanager:abc",
      severity: "critical",
    });
    const done = await tickets.ingestWebhook("alertmanager", {
      headers,
      body: { alerts: [{ status: "resolved", name: "DiskFull", fp: "abc", sev: "critical" }] },
      rawBody: "",
    });
    expect(done.tickets).toEqual([]);
    expect(done.resolved.map((t) => [t.id, t.status])).toEqual([[ticket.id, "resolved"]]);
    expect(resolvedHook).toEqual([`${ticket.id}:resolved by alertmanager`]);
    const again = await tickets.ingestWebhook("alertmanager", {
      headers,
      body: { alerts: [{ status: "resolved", name: "DiskFull", fp: "abc", sev: "critical" }] },
      rawBody: "",
    });
    expect(again.warnings[0]).toContain("no open ticket matched");
  });
});
