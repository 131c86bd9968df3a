import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createEngine } from "../src/engine.js";
import { isRunwardenError, type RunwardenError } from "../src/errors.js";
import { defineConnector } from "../src/plugin.js";

const admin = { actor: { id: "alice", roles: ["admin" as const] } };

/** Uptime Kuma's notification body (its webhook provider's `heartbeat` + `monitor` + `msg`). */
const kumaDown = {
  heartbeat: { status: 0, msg: "connect ECONNREFUSED 10.0.0.8:5432", time: "2026-12-01 10:00:00" },
  monitor: { id: 7, name: "orders-db", hostname: "db-07.internal", port: 5432, type: "port" },
  msg: "[orders-db] [🔴 Down] connect ECONNREFUSED 10.0.0.8:5432",
};
const kumaUp = { ...kumaDown, heartbeat: { ...kumaDown.heartbeat, status: 1, msg: "OK" } };

const kuma = {
  name: "uptime-kuma",
  description: "Uptime Kuma",
  mapping: `{
    "title": monitor.name & " is down",
    "description": heartbeat.msg,
    "severity": heartbeat.status = 0 ? "critical" : "info",
    "labels": { "host": monitor.hostname & ":" & monitor.port, "service": "postgresql" }
  }`,
  fingerprint: `"kuma-" & $string(monitor.id)`,
  resolveWhen: "heartbeat.status = 1",
};

const monitoring = defineConnector({
  kind: "monitoring",
  name: "prometheus",
  version: "1.0.0",
  sdk: "^0.1.0",
  configSchema: z.object({}),
  capabilities: ["webhook"],
  create: () => ({ parseWebhook: () => ({ tickets: [], warnings: [] }) }),
});

async function engine() {
  return createEngine({
    vault: { key: randomBytes(32) },
    connectors: [{ connector: monitoring, config: {} }],
  });
}

async function failure(promise: Promise<unknown>): Promise<RunwardenError> {
  try {
    await promise;
  } catch (error) {
    if (isRunwardenError(error)) return error;
    throw error;
  }
  throw new Error("expected a RunwardenError");
}

describe("webhookSources", () => {
  it("creates a source whose token is shown once and stored only as a hash", async () => {
    const e = await engine();
    const { source, token } = await e.webhookSources.create(kuma, admin);
    expect(token).toMatch(/^rwwh_[A-Za-z0-9_-]{32}$/);
    expect(source).toMatchObject({ name: "uptime-kuma", tokenPrefix: token.slice(0, 9), createdBy: "alice" });
    expect(JSON.stringify(source)).not.toContain(token);
    expect("tokenHash" in source).toBe(false);
    const [stored] = await e.storage.webhookSources.find();
    expect(JSON.stringify(stored)).not.toContain(token);
    expect((await e.audit.list()).items.map((a) => a.action)).toContain("webhook-source.created");
    expect(JSON.stringify(await e.audit.list())).not.toContain(token);
  });

  it("routes POST /tickets/webhook/{name} through the mapping: fields, labels as evidence, fingerprint, resolve", async () => {
    const e = await engine();
    const { token } = await e.webhookSources.create(kuma, admin);
    const headers = { authorization: `Bearer ${token}` };
    const down = await e.tickets.ingestWebhook("uptime-kuma", { headers, body: kumaDown, rawBody: "" });
    const ticket = down.tickets[0]!.ticket;
    expect(ticket).toMatchObject({
      title: "orders-db is down",
      description: "connect ECONNREFUSED 10.0.0.8:5432",
      severity: "critical",
      service: "postgresql",
      source: "uptime-kuma",
      fingerprint: "uptime-kuma:kuma-7",
      metaData: { labels: { host: "db-07.internal:5432", service: "postgresql" } },
    });
    expect(ticket.analysis?.entities.hosts[0]).toBe("db-07.internal");
    const up = await e.tickets.ingestWebhook("uptime-kuma", {
      headers: { "x-runwarden-webhook-token": token },
      body: kumaUp,
      rawBody: "",
    });
    expect(up.tickets).toEqual([]);
    expect(up.resolved.map((t) => t.id)).toEqual([ticket.id]);
    expect((await e.webhookSources.get("uptime-kuma")).lastReceivedAt).not.toBeNull();
  });

  it("refuses a request without the source's token, with a wrong one, or after rotation", async () => {
    const e = await engine();
    const { token } = await e.webhookSources.create(kuma, admin);
    for (const headers of [{}, { authorization: `Bearer ${token}x` }, { authorization: token }]) {
      const error = await failure(
        e.tickets.ingestWebhook("uptime-kuma", { headers, body: kumaDown, rawBody: "" }),
      );
      expect(error.code).toBe("RW_ERR_AUTH_UNAUTHENTICATED");
    }
    const rotated = await e.webhookSources.rotateToken("uptime-kuma", admin);
    expect(rotated.token).not.toBe(token);
    const old = await failure(
      e.tickets.ingestWebhook("uptime-kuma", {
        headers: { authorization: `Bearer ${token}` },
        body: kumaDown,
        rawBody: "",
      }),
    );
    expect(old.code).toBe("RW_ERR_AUTH_UNAUTHENTICATED");
  });

  it("splits a body into items and binds the whole body as $body", async () => {
    const e = await engine();
    const result = await e.webhookSources.tryMapping(
      {
        items: "checks[status != 'ok']",
        mapping: `{ "title": name & " failed on " & $body.cluster, "severity": status, "external_id": id }`,
      },
      {
        cluster: "eu-1",
        checks: [
          { id: 1, name: "disk", status: "warning" },
          { id: 2, name: "cpu", status: "ok" },
          { id: 3, name: "dns", status: "disaster" },
        ],
      },
    );
    expect(result.tickets.map((t) => [t.title, t.severity, t.externalId])).toEqual([
      ["disk failed on eu-1", "medium", "1"],
      ["dns failed on eu-1", "critical", "3"],
    ]);
  });

  it("tryMapping reports a syntax error with its position and token, and stores nothing", async () => {
    const e = await engine();
    const error = await failure(e.webhookSources.tryMapping({ mapping: `{ "title": foo.bar( }` }, {}));
    expect(error.code).toBe("RW_ERR_INPUT_MAPPING");
    expect(error.details).toMatchObject({ expression: "mapping", position: expect.any(Number) });
    expect(error.message).toContain("position");
    expect(await e.storage.tickets.count()).toBe(0);
  });

  it("tryMapping names the field when the result is not a ticket", async () => {
    const e = await engine();
    const noTitle = await failure(e.webhookSources.tryMapping({ mapping: `{ "description": "x" }` }, {}));
    expect(noTitle.code).toBe("RW_ERR_INPUT_MAPPING");
    expect(noTitle.message).toContain("title");
    const nothing = await failure(e.webhookSources.tryMapping({ mapping: "missing.path" }, {}));
    expect(nothing.message).toContain("expected an object of ticket fields");
  });

  it("stops an endless recursion by depth and a long loop by time", async () => {
    const e = await engine();
    const recursion = await failure(
      e.webhookSources.tryMapping(
        { mapping: `( $f := function($n) { $f($n + 1) }; { "title": $f(0) } )` },
        {},
      ),
    );
    expect(recursion.code).toBe("RW_ERR_INPUT_MAPPING");
    expect(recursion.details).toMatchObject({ jsonataCode: expect.stringMatching(/^D101[12]$/) });
    const started = Date.now();
    const loop = await failure(
      e.webhookSources.tryMapping(
        { mapping: `{ "title": $string($count([1..5000].([1..5000].($ * 2)))) }` },
        {},
      ),
    );
    expect(loop.code).toBe("RW_ERR_INPUT_MAPPING");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("bounds $pad, which JSONata would otherwise pad to any width in one call", async () => {
    const e = await engine();
    const padded = await e.webhookSources.tryMapping(
      { mapping: `{ "title": $pad("db", 5, "-") & $pad("x", -3) }` },
      {},
    );
    expect(padded.tickets[0]!.title).toBe("db---  x");
    const huge = await failure(
      e.webhookSources.tryMapping({ mapping: `{ "title": $pad("x", 1000000000) }` }, {}),
    );
    expect(huge.code).toBe("RW_ERR_INPUT_MAPPING");
    expect(huge.message).toContain("$pad width must be at most 10000");
  });

  it("refuses a regular expression with nested quantifiers, which no time limit could interrupt", async () => {
    const e = await engine();
    const body = { text: `${"a".repeat(40)}!` };
    const redos = await failure(
      e.webhookSources.tryMapping({ mapping: `{ "title": $match(text, /(a+)+$/) ? "y" : "n" }` }, body),
    );
    expect(redos.code).toBe("RW_ERR_INPUT_MAPPING");
    expect(redos.message).toContain("nests quantifiers");
    const fine = await e.webhookSources.tryMapping(
      { mapping: `{ "title": $replace(text, /a+/, "b") }` },
      body,
    );
    expect(fine.tickets[0]!.title).toBe("b!");
  });

  it("refuses reserved names, connector names, duplicates and invalid expressions at creation", async () => {
    const e = await engine();
    expect((await failure(e.webhookSources.create({ ...kuma, name: "generic" }, admin))).code).toBe(
      "RW_ERR_INPUT_INVALID",
    );
    expect((await failure(e.webhookSources.create({ ...kuma, name: "Bad Name" }, admin))).code).toBe(
      "RW_ERR_INPUT_INVALID",
    );
    expect((await failure(e.webhookSources.create({ ...kuma, name: "prometheus" }, admin))).code).toBe(
      "RW_ERR_STORAGE_CONFLICT",
    );
    expect(
      (await failure(e.webhookSources.create({ ...kuma, fingerprint: "(((" }, admin))).details,
    ).toMatchObject({ expression: "fingerprint" });
    await e.webhookSources.create(kuma, admin);
    expect((await failure(e.webhookSources.create(kuma, admin))).code).toBe("RW_ERR_STORAGE_CONFLICT");
  });

  it("updates the mapping (recompiled on the next webhook) and deletes the source", async () => {
    const e = await engine();
    const { token } = await e.webhookSources.create(kuma, admin);
    await e.webhookSources.update("uptime-kuma", { mapping: `{ "title": "KUMA " & monitor.name }` }, admin);
    const result = await e.tickets.ingestWebhook("uptime-kuma", {
      headers: { authorization: `Bearer ${token}` },
      body: kumaDown,
      rawBody: "",
    });
    expect(result.tickets[0]!.ticket.title).toBe("KUMA orders-db");
    expect((await e.webhookSources.list()).map((s) => s.name)).toEqual(["uptime-kuma"]);
    await e.webhookSources.remove("uptime-kuma", admin);
    expect(await e.webhookSources.has("uptime-kuma")).toBe(false);
    const gone = await failure(
      e.tickets.ingestWebhook("uptime-kuma", {
        headers: { authorization: `Bearer ${token}` },
        body: kumaDown,
        rawBody: "",
      }),
    );
    expect(gone.code).toBe("RW_ERR_PLUGIN_NOT_FOUND");
  });
});
