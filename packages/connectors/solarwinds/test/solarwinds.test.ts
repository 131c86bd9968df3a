import { testConnector } from "@runwarden/connector-testkit";
import { type MonitoringConnector, TicketInput } from "@runwarden/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import solarwinds, { solarWindsVendorSetup, webhookTemplate } from "../src/index.js";
import { activeAlerts, alertResets, alertState } from "../src/internal/queries.js";
import { type FakeSwis, fakeSwis, parseSwql } from "./fake-swis.js";
import { alertTicket, collect, NOW, testContext } from "./support.js";

const USER = "runwarden-svc";
const PASSWORD = "orion-password-0123456789";
const WEBHOOK_PASSWORD = "webhook-password-1234";

let swis: FakeSwis;

beforeEach(async () => {
  swis = await fakeSwis({ username: USER, password: PASSWORD });
});

afterEach(async () => {
  await swis.close();
});

function create(config: Record<string, unknown> = {}): MonitoringConnector {
  return solarwinds.create(
    solarwinds.configSchema.parse({
      webhookAuth: { type: "basic", username: "orion", password: WEBHOOK_PASSWORD },
      url: swis.url,
      username: USER,
      password: PASSWORD,
      ...config,
    }),
    testContext(),
  ) as MonitoringConnector;
}

const signal = () => AbortSignal.timeout(5_000);

function webOnAlert(over: Partial<Parameters<FakeSwis["addAlert"]>[0]> = {}) {
  swis.addAlert({
    alertActiveId: 5123,
    alertObjectId: 871,
    alertId: 17,
    name: "Node is down",
    severity: 2,
    nodeId: 42,
    nodeCaption: "web-01",
    ip: "10.0.0.15",
    message: "Node web-01 is Down.",
    ...over,
  });
}

describe("solarwinds config", () => {
  it("needs both username and password, and a url with them", () => {
    const base = { webhookAuth: { type: "none" } };
    expect(solarwinds.configSchema.safeParse(base).success).toBe(true);
    expect(solarwinds.configSchema.safeParse({ ...base, url: swis.url, username: "u" }).success).toBe(false);
    expect(solarwinds.configSchema.safeParse({ ...base, username: "u", password: "p" }).success).toBe(false);
    expect(solarwinds.configSchema.safeParse({ ...base, tls: { ca: "not a pem" } }).success).toBe(false);
  });

  it("verifies TLS unless told otherwise", () => {
    const parsed = solarwinds.configSchema.parse({ webhookAuth: { type: "none" } });
    expect(parsed.tls.verify).toBe(true);
  });

  it("is webhook-only without SWIS credentials", () => {
    const instance = solarwinds.create(
      solarwinds.configSchema.parse({ webhookAuth: { type: "none" } }),
      testContext(),
    );
    expect(Object.keys(instance).sort()).toEqual(["parseWebhook", "verifyWebhook"]);
  });
});

describe("the fake SWIS", () => {
  it("parses every query the connector sends and refuses undocumented properties and spliced values", () => {
    for (const q of [activeAlerts, alertResets, alertState]) expect(() => parseSwql(q)).not.toThrow();
    expect(() => parseSwql("SELECT aa.Severity FROM Orion.AlertActive aa")).toThrow(/Severity/);
    expect(() =>
      parseSwql("SELECT aa.AlertActiveID FROM Orion.AlertActive aa WHERE aa.AlertObjectID = 871"),
    ).toThrow(/@parameters/);
    expect(() => parseSwql("SELECT x.NodeID FROM Orion.Nodez x")).toThrow(/not found in catalog/);
  });
});

describe("pull", () => {
  it("reads active alerts joined with their object, definition and node", async () => {
    webOnAlert();
    const pulled = await collect(create().pull!({ since: "2025-05-14T09:00:00Z", signal: signal() }));
    expect(pulled).toHaveLength(1);
    expect(pulled[0]).toMatchObject({
      title: "Node is down on web-01",
      description: "Node web-01 is Down.",
      severity: "critical",
      source: "solarwinds",
      externalId: "871",
      fingerprint: "871",
      resolved: false,
      metaData: {
        alertObjectId: 871,
        alertActiveId: 5123,
        alertId: 17,
        severityName: "Critical",
        host: "web-01",
        ip: "10.0.0.15",
        dns: "web-01.example.com",
        acknowledged: false,
        triggeredAt: "2025-05-14T09:12:30.123Z",
      },
    });
    expect(TicketInput.safeParse(pulled[0]).success).toBe(true);
    const [query] = swis.server.requests.filter((r) => r.path.endsWith("/Query"));
    expect(query!.headers.authorization).toBe(
      `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`,
    );
    expect(query!.json<{ query: string }>().query).toBe(`${activeAlerts} WITH ROWS 1 TO 500 WITH TOTALROWS`);
  });

  it("maps each Orion severity through the configurable table", async () => {
    for (const [i, severity] of [0, 1, 2, 3, 4].entries()) {
      webOnAlert({ alertActiveId: 100 + i, alertObjectId: 200 + i, alertId: 300 + i, severity });
    }
    const pulled = await collect(create().pull!({ since: "2025-05-14T09:00:00Z", signal: signal() }));
    expect(pulled.map((t) => [t.metaData?.severityName, t.severity])).toEqual([
      ["Information", "info"],
      ["Warning", "medium"],
      ["Critical", "critical"],
      ["Serious", "high"],
      ["Notice", "low"],
    ]);
    const custom = await collect(
      create({ mapping: { severities: { Serious: "critical" } } }).pull!({ signal: signal() }),
    );
    expect(custom.find((t) => t.metaData?.severityName === "Serious")!.severity).toBe("critical");
    expect(custom.find((t) => t.metaData?.severityName === "Critical")!.severity).toBe("medium");
  });

  it("pages with WITH ROWS until the total is read", async () => {
    for (let i = 0; i < 5; i++) webOnAlert({ alertActiveId: 10 + i, alertObjectId: 20 + i, alertId: 30 });
    const pulled = await collect(create({ pull: { pageSize: 2 } }).pull!({ signal: signal() }));
    expect(pulled.map((t) => t.externalId)).toEqual(["20", "21", "22", "23", "24"]);
    const active = swis.queries.filter((q) => q.startsWith(activeAlerts));
    expect(active.map((q) => q.slice(activeAlerts.length))).toEqual([
      " WITH ROWS 1 TO 2 WITH TOTALROWS",
      " WITH ROWS 3 TO 4 WITH TOTALROWS",
      " WITH ROWS 5 TO 6 WITH TOTALROWS",
    ]);
  });

  it("resolves alerts that reset or were cleared since the cursor, before the active ones", async () => {
    webOnAlert();
    webOnAlert({ alertActiveId: 5124, alertObjectId: 872, alertId: 18, name: "High CPU", severity: 1 });
    swis.resetAlert(872, "2025-05-14T09:20:00.0000000Z");
    webOnAlert({ alertActiveId: 5125, alertObjectId: 873, alertId: 19, name: "Old", severity: 1 });
    swis.resetAlert(873, "2025-05-14T08:00:00.0000000Z");
    const pulled = await collect(create().pull!({ since: "2025-05-14T09:00:00Z", signal: signal() }));
    expect(pulled.map((t) => [t.fingerprint, t.resolved])).toEqual([
      ["872", true],
      ["871", false],
    ]);
    expect(pulled[0]).toMatchObject({ title: "High CPU on web-01", metaData: { event: "reset" } });
    const resets = swis.server.requests
      .filter((r) => r.path.endsWith("/Query"))
      .map((r) => r.json<{ query: string; parameters: Record<string, unknown> }>())
      .find((b) => b.query.startsWith(alertResets));
    expect(resets!.parameters).toEqual({ resetTypes: [1, 8], since: "2025-05-14T09:00:00Z" });
  });

  it("looks back the configured window on the first pull, and does not resolve an alert active again", async () => {
    webOnAlert();
    swis.resetAlert(871, "2025-05-14T09:25:00.0000000Z");
    webOnAlert({ alertActiveId: 5200 });
    const pulled = await collect(create({ pull: { lookbackMs: 600_000 } }).pull!({ signal: signal() }));
    expect(pulled.map((t) => [t.fingerprint, t.resolved])).toEqual([["871", false]]);
    const resets = swis.server.requests
      .map((r) => r.json<{ query: string; parameters: Record<string, unknown> }>())
      .find((b) => b.query.startsWith(alertResets));
    expect(resets!.parameters.since).toBe(new Date(NOW.getTime() - 600_000).toISOString());
  });

  it("maps a refused password to RW_ERR_CONNECTOR_AUTH without echoing it", async () => {
    const error = await collect(create({ password: "wrong-password" }).pull!({ signal: signal() })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH" });
    expect(JSON.stringify(error)).not.toContain("wrong-password");
  });

  it("refuses an answer of the wrong shape and a cursor that is not a date", async () => {
    swis.server.route("POST /SolarWinds/InformationService/v3/Json/Query", () => ({
      body: { results: "nope" },
    }));
    await expect(collect(create().pull!({ signal: signal() }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
    });
    await expect(collect(create().pull!({ since: "yesterday", signal: signal() }))).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
  });
});

describe("acknowledge and resolve", () => {
  it("acknowledges with Acknowledge([id], note) once, however often it is called", async () => {
    webOnAlert();
    const connector = create();
    await connector.acknowledge!(alertTicket(871), { signal: signal() });
    await connector.acknowledge!(alertTicket(871), { signal: signal() });
    expect(swis.invocations).toEqual([
      { verb: "Acknowledge", args: [[871], expect.stringContaining("[runwarden:acknowledge:7]")] },
    ]);
    expect(swis.tables["Orion.AlertActive"]![0]).toMatchObject({ Acknowledged: true, AcknowledgedBy: USER });
    const invoke = swis.server.requests.find((r) => r.path.endsWith("/Invoke/Orion.AlertActive/Acknowledge"));
    expect(invoke!.headers["content-type"]).toBe("application/json");
  });

  it("resolves with one AppendNote and ClearAlert, and succeeds when there is nothing left", async () => {
    webOnAlert();
    webOnAlert({ alertActiveId: 5124, alertObjectId: 872, alertId: 18 });
    const connector = create();
    await connector.resolve!(alertTicket(871), { signal: signal() });
    await connector.resolve!(alertTicket(871), { signal: signal() });
    expect(swis.invocations).toEqual([
      { verb: "AppendNote", args: [[871], expect.stringContaining("[runwarden:resolve:7]")] },
      { verb: "ClearAlert", args: [[871]] },
    ]);
    expect(swis.tables["Orion.AlertActive"]!.map((r) => r.AlertObjectID)).toEqual([872]);
    expect(swis.tables["Orion.AlertHistory"]!.at(-1)).toMatchObject({ AlertObjectID: 871, EventType: 8 });
  });

  it("does not append the resolution note twice when a retry finds it", async () => {
    webOnAlert();
    swis.failNext("ClearAlert");
    const connector = create();
    await expect(connector.resolve!(alertTicket(871), { signal: signal() })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_UNREACHABLE",
    });
    // The first attempt's note is in AlertObjects.AlertNote: the retry only clears.
    await connector.resolve!(alertTicket(871), { signal: signal() });
    expect(swis.invocations.map((i) => i.verb)).toEqual(["AppendNote", "ClearAlert"]);
    expect(swis.tables["Orion.AlertActive"]).toHaveLength(0);
  });

  it("appends a work note with AppendNote once per idempotency key, however often it is retried", async () => {
    webOnAlert();
    const connector = create();
    const text = "Runwarden session 31: approval 4 approved by alice.";
    await connector.note!(alertTicket(871), text, {
      idempotencyKey: "key-1",
      sessionId: 31,
      signal: signal(),
    });
    await connector.note!(alertTicket(871), text, {
      idempotencyKey: "key-1",
      sessionId: 31,
      signal: signal(),
    });
    await connector.note!(alertTicket(871), "Runwarden session 31 succeeded.", {
      idempotencyKey: "key-2",
      sessionId: 31,
      signal: signal(),
    });
    expect(swis.invocations).toEqual([
      {
        verb: "AppendNote",
        args: [
          [871],
          expect.stringMatching(
            /^Runwarden session 31: approval 4 approved by alice\. \[runwarden:note:7:[0-9a-f]{12}\]$/,
          ),
        ],
      },
      { verb: "AppendNote", args: [[871], expect.stringContaining("Runwarden session 31 succeeded.")] },
    ]);
    const invoke = swis.server.requests.find((r) => r.path.endsWith("/Invoke/Orion.AlertActive/AppendNote"));
    expect(invoke!.headers["content-type"]).toBe("application/json");
  });

  it("only appends a note when resolveAction is note", async () => {
    webOnAlert();
    await create({ resolveAction: "note" }).resolve!(alertTicket(871), { signal: signal() });
    expect(swis.invocations.map((i) => i.verb)).toEqual(["AppendNote"]);
    expect(swis.tables["Orion.AlertActive"]).toHaveLength(1);
  });

  it("treats a verb answering false as a refusal", async () => {
    webOnAlert();
    swis.server.route("POST /SolarWinds/InformationService/v3/Json/Invoke/:entity/:verb", () => ({
      body: false,
    }));
    await expect(create().acknowledge!(alertTicket(871), { signal: signal() })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
    });
  });

  it("refuses a ticket that names no alert object", async () => {
    await expect(
      create().acknowledge!(alertTicket(871, { metaData: {}, externalId: "web-01" }), { signal: signal() }),
    ).rejects.toMatchObject({ code: "RW_ERR_INPUT_INVALID" });
  });

  it("describes each write in one line naming the server and the object, never the password", () => {
    const connector = create();
    const lines = [
      connector.describe!({ operation: "acknowledge", ticket: alertTicket(871) }),
      connector.describe!({ operation: "resolve", ticket: alertTicket(871) }),
      connector.describe!({
        operation: "resolve",
        ticket: alertTicket(871, { metaData: {}, externalId: "x" }),
      }),
    ];
    const host = new URL(swis.url).host;
    expect(lines).toEqual([
      `solarwinds ${host}: acknowledge alert object 871 with a note (Orion.AlertActive.Acknowledge)`,
      `solarwinds ${host}: append a note to alert object 871 and clear it (Orion.AlertActive.AppendNote, ClearAlert)`,
      `solarwinds ${host}: append a note to ticket 7 (no alert object) and clear it (Orion.AlertActive.AppendNote, ClearAlert)`,
    ]);
    for (const line of lines) expect(line).not.toContain(PASSWORD);
  });
});

describe("healthCheck", () => {
  it("runs one documented query; a refused password is reason auth", async () => {
    expect(await create().healthCheck!({ signal: signal() })).toMatchObject({ ok: true });
    expect(await create({ password: "nope" }).healthCheck!({ signal: signal() })).toMatchObject({
      ok: false,
      reason: "auth",
    });
  });
});

describe("vendorSetup", () => {
  it("shows the trigger and reset actions with the webhook URL and the template", () => {
    const steps = solarwinds.vendorSetup!({
      webhookUrl: "https://rw.example/api/v1/tickets/webhook/solarwinds",
      baseUrl: "https://rw.example",
    });
    expect(steps).toEqual(
      solarWindsVendorSetup({ webhookUrl: "https://rw.example/api/v1/tickets/webhook/solarwinds" }),
    );
    expect(steps[1]!.text).toContain("https://rw.example/api/v1/tickets/webhook/solarwinds");
    expect(JSON.parse(steps[1]!.snippet!.content)).toEqual(webhookTemplate);
    expect(JSON.parse(steps[2]!.snippet!.content)).toMatchObject({ Event: "Reset" });
  });
});

testConnector(solarwinds, {
  config: {
    webhookAuth: { type: "basic", username: "orion", password: WEBHOOK_PASSWORD },
    url: "http://127.0.0.1:9",
    username: USER,
    password: PASSWORD,
  },
  invalidConfigs: [
    { webhookAuth: { type: "basic", username: "orion", password: "short" } },
    { webhookAuth: { type: "none" }, url: "ftp://orion.example.com" },
    { webhookAuth: { type: "none" }, tls: { verify: "no" } },
  ],
  secrets: [PASSWORD, WEBHOOK_PASSWORD],
  ticket: alertTicket(871),
  operations: {
    pull: async (instance, { signal }) => {
      for await (const _ of (instance as MonitoringConnector).pull!({ signal })) {
        // drain
      }
    },
  },
});
