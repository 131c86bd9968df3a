import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { defineConnector } from "@runwarden/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Harness, setup } from "../helpers.js";

const sampleCsv = readFileSync(new URL("../../../../tickets_sample.csv", import.meta.url));
const hmacKey = "webhook-hmac-key-0123456789";

/** A monitoring connector that signs its webhooks like many tools do: HMAC-SHA256 of the body. */
const signedTool = defineConnector({
  kind: "monitoring",
  name: "signed-tool",
  version: "0.1.0",
  sdk: "^0.1.0",
  configSchema: z.object({}),
  capabilities: ["webhook"],
  create: () => ({
    verifyWebhook(request) {
      const given = Buffer.from(request.headers["x-signature"] ?? "");
      const expected = Buffer.from(createHmac("sha256", hmacKey).update(request.rawBody).digest("hex"));
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
    parseWebhook(request) {
      const body = request.body as { alert: string; level: string };
      return { tickets: [{ title: body.alert, severity: "high", source: "signed-tool" }], warnings: [] };
    },
  }),
});

let h: Harness;
beforeAll(async () => {
  h = await setup({
    engine: {
      connectors: [
        signedTool,
        {
          connector: { ...signedTool, name: "waiting-tool" },
          notConfigured: { needs: ["WAITING_TOOL_KEY"], hint: "set WAITING_TOOL_KEY to the tool's HMAC key" },
        },
      ],
    },
    adapter: {
      webhooks: { generic: { secret: "generic-secret-0123456789" } },
      limits: { csvBytes: 64 * 1024 },
    },
  });
});
afterAll(() => h.close());

function multipart(filename: string, content: Buffer | string, fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append("file", new Blob([content], { type: "text/csv" }), filename);
  return form;
}

describe("POST /tickets/upload-csv", () => {
  it("imports the sample file with per-row results when it is uploaded as multipart", async () => {
    const r = await h.json("POST", "/tickets/upload-csv", {
      token: h.tokens.operator,
      body: multipart("tickets_sample.csv", sampleCsv),
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ rows: 40, imported: 40, rejected: 0, errors_truncated: false });
    expect(r.body.results).toHaveLength(40);
    expect(r.body.results[0]).toMatchObject({
      row: 1,
      status: "imported",
      title: "Database connection timeout",
    });
    expect(typeof r.body.results[0].ticket_id).toBe("number");
  });

  it("names each row's line, runbook and reason, and says per row when a re-upload folded or reopened a ticket", async () => {
    const first = await h.json("POST", "/tickets/upload-csv", {
      token: h.tokens.operator,
      body: multipart("tickets_sample.csv", sampleCsv),
    });
    type Row = {
      row: number;
      line: number;
      status: string;
      ticket_id: number;
      decision: string;
      runbook: { key: string } | null;
      reason: string | null;
    };
    const rows = first.body.results as Row[];
    expect(rows.every((r) => typeof r.line === "number" && r.line === r.row + 1)).toBe(true);
    expect(rows.every((r) => typeof r.reason === "string" && r.reason.length > 0)).toBe(true);
    // This harness loads no runbooks (every decision is "none"); the browser test sees runbooks chosen.
    const chosen = rows.filter((r) => r.decision !== "none");
    expect(chosen.every((r) => r.runbook !== null && r.runbook.key.length > 0)).toBe(true);
    expect(rows.filter((r) => r.decision === "none").every((r) => r.runbook === null)).toBe(true);

    const resolvedId = rows[5]!.ticket_id;
    await h.engine.tickets.setStatus(resolvedId, "resolved", "fixed by hand");
    const again = await h.json("POST", "/tickets/upload-csv", {
      token: h.tokens.operator,
      body: multipart("tickets_sample.csv", sampleCsv),
    });
    expect(again.body).toMatchObject({ rows: 40, imported: 0, deduplicated: 40 });
    const second = again.body.results as Row[];
    expect(second.filter((r) => r.status === "imported")).toHaveLength(0);
    const reopened = second.filter((r) => r.status === "reopened");
    expect(reopened.map((r) => r.ticket_id)).toContain(resolvedId);
    expect(reopened.find((r) => r.ticket_id === resolvedId)?.reason).toMatch(
      /resolved: reopened as needs_human/,
    );
    const folded = second.find((r) => r.status === "folded");
    expect(folded?.reason).toMatch(/^folded into ticket #\d+/);
  });

  it("backtests a CSV per row without storing a ticket, and bounds the rows analyzed", async () => {
    const before = (await h.engine.tickets.list({ limit: 500 })).items.length;
    const r = await h.json("POST", "/tickets/backtest-csv?max_rows=2", {
      token: h.tokens.operator,
      body: "title,severity\nBacktest only row,high\n,low\nThird row,low\n",
      headers: { "content-type": "text/csv" },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ rows: 3, truncated: true });
    expect(r.body.results).toHaveLength(2);
    expect(r.body.results[0]).toMatchObject({ row: 1, line: 2, title: "Backtest only row", steps: [] });
    expect(r.body.results[1]).toMatchObject({ row: 2, line: 3, status: "rejected" });
    expect((await h.engine.tickets.list({ limit: 500 })).items.length).toBe(before);
    const viewer = await h.json("POST", "/tickets/backtest-csv", {
      token: h.tokens.viewer,
      body: "title\nx\n",
      headers: { "content-type": "text/csv" },
    });
    expect(viewer.status).toBe(403);
  });

  it("reports each refused row with its line when the body is text/csv", async () => {
    const csv = "title,severity\nDisk full,high\n,low\nCPU hot,extreme\n";
    const r = await h.json("POST", "/tickets/upload-csv?auto_execute=false", {
      body: csv,
      headers: { "content-type": "text/csv" },
    });
    expect(r.status).toBe(200);
    expect(r.body.rows).toBe(3);
    expect(r.body.rejected).toBeGreaterThanOrEqual(1);
    const refused = r.body.results.find((x: { row: number }) => x.row === 2);
    expect(refused).toMatchObject({ status: "rejected", line: 3, ticket_id: null });
    expect(refused.reason).toMatch(/title/);
  });

  it("answers 422 RW_ERR_INPUT_CSV_HEADER when the header has no title column", async () => {
    const r = await h.json("POST", "/tickets/upload-csv", {
      body: "name,severity\nx,high\n",
      headers: { "content-type": "text/csv" },
    });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("RW_ERR_INPUT_CSV_HEADER");
  });

  it("answers 400 RW_ERR_INPUT_MALFORMED when the multipart body is cut off mid-part", async () => {
    const boundary = "----rw-truncated";
    const whole =
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="t.csv"\r\n` +
      `Content-Type: text/csv\r\n\r\ntitle,severity\nCut short one,high\nCut short two,lo`;
    for (const body of [whole, whole.slice(0, 60)]) {
      const r = await h.json("POST", "/tickets/upload-csv?auto_execute=false", {
        body,
        headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("RW_ERR_INPUT_MALFORMED");
    }
    expect((await h.engine.tickets.list({ limit: 500 })).items.map((t) => t.title)).not.toContain(
      "Cut short one",
    );
  });

  it("answers 413 when the file exceeds the upload limit", async () => {
    const big = `title\n${"x".repeat(100)}\n`.repeat(1000);
    const asText = await h.json("POST", "/tickets/upload-csv", {
      body: big,
      headers: { "content-type": "text/csv" },
    });
    expect(asText.status).toBe(413);
    expect(asText.body.error.code).toBe("RW_ERR_INPUT_TOO_LARGE");
    const asFile = await h.json("POST", "/tickets/upload-csv", { body: multipart("big.csv", big) });
    expect(asFile.status).toBe(413);
  });

  it("answers 413 when a streamed body without Content-Length crosses the limit", async () => {
    const chunk = new TextEncoder().encode(`title\n${"y".repeat(1000)}\n`.repeat(10));
    let sent = 0;
    const body = new ReadableStream({
      pull(c) {
        if (sent++ > 20) c.close();
        else c.enqueue(chunk);
      },
    });
    const res = await h.adapter.fetch(
      new Request(`http://t${h.adapter.basePath}/tickets/upload-csv`, {
        method: "POST",
        body,
        duplex: "half",
        headers: { authorization: `Bearer ${h.tokens.admin}`, "content-type": "text/csv" },
      } as RequestInit),
    );
    expect(res.status).toBe(413);
  });

  it("answers 422 when a multipart upload has no file, and 400 when it is malformed", async () => {
    const form = new FormData();
    form.append("note", "no file here");
    const noFile = await h.json("POST", "/tickets/upload-csv", { body: form });
    expect(noFile.status).toBe(422);
    expect(noFile.body.error.fields[0].field).toBe("file");
    const broken = await h.json("POST", "/tickets/upload-csv", {
      body: "garbage",
      headers: { "content-type": "multipart/form-data" },
    });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe("RW_ERR_INPUT_MALFORMED");
  });

  it("answers 415 when the upload is neither multipart nor CSV", async () => {
    const r = await h.json("POST", "/tickets/upload-csv", { json: { title: "x" } });
    expect(r.status).toBe(415);
  });

  it("needs the operator role", async () => {
    const r = await h.json("POST", "/tickets/upload-csv", {
      token: h.tokens.viewer,
      body: "title\nx\n",
      headers: { "content-type": "text/csv" },
    });
    expect(r.status).toBe(403);
  });
});

describe("GET /tickets/csv-template", () => {
  it("downloads the template as an attachment", async () => {
    const res = await h.call("GET", "/tickets/csv-template", { token: h.tokens.viewer });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(res.headers.get("content-disposition")).toMatch(/attachment/);
    expect((await res.text()).split("\n")[0]).toBe("title,description,severity,environment,service,source");
  });
});

describe("POST /tickets/webhook/{source}", () => {
  const ticket = {
    title: "Disk usage above 90% on /var",
    severity: "high",
    service: "nginx",
    environment: "prod",
  };

  it("stores the ticket before answering 202 when the generic secret header matches", async () => {
    const r = await h.json("POST", "/tickets/webhook/generic", {
      token: null,
      json: ticket,
      headers: { "x-runwarden-webhook-secret": "generic-secret-0123456789" },
    });
    expect(r.status).toBe(202);
    expect(r.body.tickets).toHaveLength(1);
    const stored = await h.engine.tickets.get(r.body.tickets[0].id);
    expect(stored.title).toBe(ticket.title);
  });

  it("accepts an operator token on the generic source and an array of tickets", async () => {
    const r = await h.json("POST", "/tickets/webhook/generic", {
      token: h.tokens.operator,
      json: [ticket, { title: "Second" }],
    });
    expect(r.status).toBe(202);
    expect(r.body.tickets).toHaveLength(2);
  });

  it("records who sent each generic webhook, also when concurrent requests share one commit", async () => {
    const [bySecret, byToken] = await Promise.all([
      h.json("POST", "/tickets/webhook/generic", {
        token: null,
        json: { title: "Sent with the shared secret", fingerprint: "who-1" },
        headers: { "x-runwarden-webhook-secret": "generic-secret-0123456789" },
      }),
      h.json("POST", "/tickets/webhook/generic", {
        token: h.tokens.operator,
        json: [
          { title: "Sent with otto's token", fingerprint: "who-2" },
          { title: "Also otto's", fingerprint: "who-3" },
        ],
      }),
    ]);
    const submitter = async (id: number) => (await h.engine.tickets.get(id)).submittedBy;
    expect(await submitter(bySecret.body.tickets[0].id)).toBe("webhook:generic");
    for (const t of byToken.body.tickets) expect(await submitter(t.id)).toBe("otto");
  });

  it("refuses the generic source with 401 when the secret is wrong or missing", async () => {
    for (const headers of [{}, { "x-runwarden-webhook-secret": "wrong" }]) {
      const r = await h.json("POST", "/tickets/webhook/generic", { token: null, json: ticket, headers });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("RW_ERR_AUTH_UNAUTHENTICATED");
    }
    const viewer = await h.json("POST", "/tickets/webhook/generic", { token: h.tokens.viewer, json: ticket });
    expect(viewer.status).toBe(401);
  });

  it("answers 422 with the offending fields when a generic ticket is invalid", async () => {
    const r = await h.json("POST", "/tickets/webhook/generic", {
      json: [{ title: "ok" }, { description: "no title", meta_data: 3 }],
    });
    expect(r.status).toBe(422);
    const fields = r.body.error.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(["[1].title", "[1].meta_data"]));
  });

  it("answers 400 when the generic body is not JSON", async () => {
    const r = await h.json("POST", "/tickets/webhook/generic", {
      body: "{oops",
      headers: { "content-type": "application/json" },
    });
    expect(r.status).toBe(400);
  });

  it("hands the raw body to the connector, which verifies its HMAC signature", async () => {
    const raw = JSON.stringify({ alert: "Replica lag 480s", level: "page" });
    const signature = createHmac("sha256", hmacKey).update(raw).digest("hex");
    const ok = await h.json("POST", "/tickets/webhook/signed-tool", {
      token: null,
      body: raw,
      headers: { "content-type": "application/json", "x-signature": signature },
    });
    expect(ok.status).toBe(202);
    expect(await h.engine.tickets.get(ok.body.tickets[0].id)).toMatchObject({
      source: "signed-tool",
      submittedBy: "webhook:signed-tool",
    });
    const bad = await h.json("POST", "/tickets/webhook/signed-tool", {
      token: null,
      body: raw.replace("480", "481"),
      headers: { "content-type": "application/json", "x-signature": signature },
    });
    expect(bad.status).toBe(401);
  });

  it("answers 404 for a source with no connector and 422 for a malformed source name", async () => {
    const unknown = await h.json("POST", "/tickets/webhook/nagios", { token: null, json: ticket });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("RW_ERR_PLUGIN_NOT_FOUND");
    expect(unknown.body.error.message).toContain("known sources: generic, signed-tool, waiting-tool");
    expect(unknown.body.error.details.known).toEqual(["generic", "signed-tool", "waiting-tool"]);
    const bad = await h.json("POST", "/tickets/webhook/Bad_Name!", { token: null, json: ticket });
    expect(bad.status).toBe(422);
  });
});

describe("POST /tickets/webhook/{source} for a source registered without its configuration", () => {
  it("answers 503 RW_ERR_PLUGIN_NOT_CONFIGURED with how to configure it instead of a 404", async () => {
    const r = await h.json("POST", "/tickets/webhook/waiting-tool", { token: null, json: { alert: "x" } });
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe("RW_ERR_PLUGIN_NOT_CONFIGURED");
    expect(r.body.error.message).toContain("set WAITING_TOOL_KEY to the tool's HMAC key");
    expect(r.body.error.details.needs).toEqual(["WAITING_TOOL_KEY"]);
  });

  it("lists it under GET /connectors/monitoring as not configured, with its needs", async () => {
    const r = await h.json("GET", "/connectors/monitoring", { token: h.tokens.viewer });
    expect(r.status).toBe(200);
    const byName = Object.fromEntries(r.body.items.map((i: { name: string }) => [i.name, i]));
    expect(byName["waiting-tool"]).toMatchObject({
      status: "not_configured",
      needs: ["WAITING_TOOL_KEY"],
      hint: "set WAITING_TOOL_KEY to the tool's HMAC key",
      health: null,
      poller: null,
    });
    expect(byName["signed-tool"]).toMatchObject({ status: "ready", needs: [], hint: null });
  });
});

describe("POST /tickets/demo/ticket", () => {
  it("creates a sample ticket when the body is empty", async () => {
    const r = await h.json("POST", "/tickets/demo/ticket", { token: h.tokens.operator });
    expect(r.status).toBe(201);
    expect(r.body.ticket.title.length).toBeGreaterThan(0);
    expect(r.body.ticket.analysis).not.toBeNull();
  });

  it("creates the given ticket and keeps meta_data verbatim when a body is sent", async () => {
    const meta = {
      connection_config: {
        connector_type: "ssh",
        host: "192.168.1.100",
        port: 22,
        username: "admin",
        credential_id: 5,
      },
    };
    const r = await h.json("POST", "/tickets/demo/ticket?auto_execute=false", {
      json: { title: "Nginx down", service: "nginx", external_id: "INC-1", meta_data: meta },
    });
    expect(r.status).toBe(201);
    expect(r.body.ticket).toMatchObject({
      title: "Nginx down",
      external_id: "INC-1",
      meta_data: meta,
      source: "manual",
    });
    expect(r.body.deduplicated).toBe(false);
  });
});

describe("GET /tickets and GET /tickets/{id}", () => {
  it("lists newest first with a cursor and filters by status and source", async () => {
    const first = await h.json("GET", "/tickets?limit=2", { token: h.tokens.viewer });
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.items[0].id).toBeGreaterThan(first.body.items[1].id);
    const next = await h.json("GET", `/tickets?limit=2&cursor=${first.body.next_cursor}`);
    expect(next.body.items[0].id).toBeLessThan(first.body.items[1].id);
    const bySource = await h.json("GET", "/tickets?source=signed-tool");
    expect(bySource.body.items.every((t: { source: string }) => t.source === "signed-tool")).toBe(true);
    const byStatus = await h.json("GET", "/tickets?status=analyzed,resolved");
    expect(byStatus.status).toBe(200);
  });

  it("answers 422 for an unknown status or a bad limit", async () => {
    expect((await h.json("GET", "/tickets?status=bogus")).status).toBe(422);
    expect((await h.json("GET", "/tickets?limit=0")).status).toBe(422);
    expect((await h.json("GET", "/tickets?limit=abc")).status).toBe(422);
  });

  it("returns one ticket with its analysis in snake_case", async () => {
    const [t] = (await h.engine.tickets.list({ limit: 1 })).items;
    const r = await h.json("GET", `/tickets/${t!.id}`, { token: h.tokens.viewer });
    expect(r.status).toBe(200);
    expect(r.body).toHaveProperty("received_at");
    expect(r.body.analysis).toHaveProperty("entities.error_codes");
  });
});

describe("GET /tickets/{id}/trace", () => {
  it("recomputes the analysis trace a ticket no longer stores, stage by stage in snake_case", async () => {
    const created = await h.json("POST", "/tickets/demo/ticket?auto_execute=false", {
      token: h.tokens.operator,
      json: { title: "Nginx  down on web-1", service: "Nginx", environment: "Production" },
    });
    const id = created.body.ticket.id;
    const ticket = await h.json("GET", `/tickets/${id}`, { token: h.tokens.viewer });
    expect(ticket.body.analysis).not.toHaveProperty("trace");
    expect(ticket.body.analysis.normalized.length).toBeGreaterThan(0);

    const r = await h.json("GET", `/tickets/${id}/trace`, { token: h.tokens.viewer });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      ticket_id: id,
      origin: "recomputed",
      matches_stored: true,
      analyzed_at: ticket.body.analysis.analyzed_at,
    });
    expect(r.body.trace.map((t: { stage: string }) => t.stage)).toEqual([
      "normalize",
      "extract",
      "fingerprint",
      "categorize",
      "match",
      "decide",
    ]);
    // What normalize changed as the ticket came in is traced as it was.
    expect(r.body.trace[0].notes).toEqual(ticket.body.analysis.normalized);
  });

  it("answers 404 for no such ticket and 401 without a token, and is in the OpenAPI description", async () => {
    expect((await h.json("GET", "/tickets/999999/trace", { token: h.tokens.viewer })).status).toBe(404);
    expect((await h.json("GET", "/tickets/1/trace", { token: null })).status).toBe(401);
    const doc = await h.json("GET", "/openapi.json", { token: null });
    expect(doc.body.paths["/tickets/{id}/trace"]?.get).toBeDefined();
    expect(Object.keys(doc.body.components.schemas.AnalysisTrace.properties).sort()).toEqual([
      "analyzed_at",
      "matches_stored",
      "origin",
      "ticket_id",
      "trace",
    ]);
  });
});
