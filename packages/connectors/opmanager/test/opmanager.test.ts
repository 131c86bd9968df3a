import { testConnector } from "@runwarden/connector-testkit";
import { type MonitoringConnector, TicketInput } from "@runwarden/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import opmanager, { opManagerVendorSetup, webhookTemplate } from "../src/index.js";
import { type FakeOpManager, fakeOpManager } from "./fake-opmanager.js";
import { alarmTicket, collect, testContext } from "./support.js";

const API_KEY = "opm-rest-api-key-0123456789abcdef";
const WEBHOOK_SECRET = "opm-webhook-shared-secret-1";

let opm: FakeOpManager;

beforeEach(async () => {
  opm = await fakeOpManager(API_KEY);
});

afterEach(async () => {
  await opm.close();
});

function create(config: Record<string, unknown> = {}): MonitoringConnector {
  return opmanager.create(
    opmanager.configSchema.parse({
      webhookAuth: { type: "header", secret: WEBHOOK_SECRET },
      url: opm.url,
      apiKey: API_KEY,
      ...config,
    }),
    testContext(),
  ) as MonitoringConnector;
}

const signal = () => AbortSignal.timeout(5_000);

describe("opmanager config", () => {
  it("needs url and apiKey together, and verifies TLS by default", () => {
    const base = { webhookAuth: { type: "none" } };
    expect(opmanager.configSchema.safeParse(base).success).toBe(true);
    expect(opmanager.configSchema.safeParse({ ...base, apiKey: "k" }).success).toBe(false);
    expect(opmanager.configSchema.safeParse({ ...base, url: "https://opm.example.com:8061" }).success).toBe(
      false,
    );
    expect(opmanager.configSchema.parse(base).tls.verify).toBe(true);
  });

  it("is webhook-only without the API key", () => {
    const instance = opmanager.create(
      opmanager.configSchema.parse({ webhookAuth: { type: "none" } }),
      testContext(),
    );
    expect(Object.keys(instance).sort()).toEqual(["parseWebhook", "verifyWebhook"]);
  });
});

describe("pull", () => {
  it("lists active alarms with the apiKey header and maps each to a ticket keyed by its entity", async () => {
    opm.addAlarm({ entity: "5_DiskUtilization", severity: 1, device: "web-01" });
    opm.addAlarm({ entity: "9_CPUUtilization", severity: 3, device: "db-01", message: "CPU is 85%" });
    const pulled = await collect(create().pull!({ since: "2025-05-14T09:00:00Z", signal: signal() }));
    expect(pulled.map((t) => [t.fingerprint, t.severity, t.resolved])).toEqual([
      ["5_DiskUtilization", "critical", false],
      ["9_CPUUtilization", "medium", false],
    ]);
    expect(pulled[0]).toMatchObject({
      title: "Disk Utilization is 97%, threshold value for this monitor is 90%",
      source: "opmanager",
      externalId: "5_DiskUtilization",
      metaData: {
        entity: "5_DiskUtilization",
        alarmId: "1",
        severityName: "Critical",
        category: "Server",
        host: "web-01",
        deviceName: "web-01.example.com",
        acknowledgedBy: null,
        modifiedAt: "2024-05-14T09:12:30.000Z",
      },
    });
    expect(TicketInput.safeParse(pulled[0]).success).toBe(true);
    const [request] = opm.server.requests;
    expect(request!.headers.apikey).toBe(API_KEY);
    expect(request!.query.get("apiKey")).toBeNull();
    expect(Object.fromEntries(request!.query)).toEqual({ alertType: "ActiveAlarms" });
  });

  it("maps each OpManager severity through the configurable table", async () => {
    for (const s of [1, 2, 3, 4]) opm.addAlarm({ entity: `${s}_X`, severity: s });
    const pulled = await collect(create().pull!({ signal: signal() }));
    expect(pulled.map((t) => [t.metaData?.severityName, t.severity])).toEqual([
      ["Critical", "critical"],
      ["Trouble", "high"],
      ["Attention", "medium"],
      ["Service Down", "critical"],
    ]);
    const custom = await collect(
      create({ mapping: { severities: { Trouble: "low" } } }).pull!({ signal: signal() }),
    );
    expect(custom[1]!.severity).toBe("low");
  });

  it("resolves an alarm listed as Clear, and filters by category when configured", async () => {
    const alarm = opm.addAlarm({ entity: "5_DiskUtilization", severity: 1, category: "Server" });
    opm.addAlarm({ entity: "7_Ping", severity: 4, category: "Router" });
    Object.assign(alarm, { numericSeverity: 5, severityString: "Clear" });
    const pulled = await collect(
      create({ pull: { alertType: "EventLogAlarms" } }).pull!({ signal: signal() }),
    );
    expect(pulled.map((t) => [t.fingerprint, t.resolved])).toEqual([
      ["5_DiskUtilization", true],
      ["7_Ping", false],
    ]);
    const routers = await collect(create({ pull: { category: "Router" } }).pull!({ signal: signal() }));
    expect(routers.map((t) => t.fingerprint)).toEqual(["7_Ping"]);
  });

  it("maps a refused key to RW_ERR_CONNECTOR_AUTH without echoing it", async () => {
    const error = await collect(create({ apiKey: "wrong-key-123" }).pull!({ signal: signal() })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH" });
    expect(JSON.stringify(error)).not.toContain("wrong-key-123");
  });

  it("treats an error object in a 200 answer as a failure", async () => {
    opm.server.route("GET /api/json/alarm/listAlarms", () => ({
      body: { error: { code: 4000, message: "Invalid API key" } },
    }));
    await expect(collect(create().pull!({ signal: signal() }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_AUTH",
    });
    opm.server.route("GET /api/json/alarm/listAlarms", () => ({ body: { error: { message: "busy" } } }));
    await expect(collect(create().pull!({ signal: signal() }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
    });
  });

  it("refuses an answer of the wrong shape and a cursor that is not a date", async () => {
    opm.server.route("GET /api/json/alarm/listAlarms", () => ({ body: [{ entity: 5 }] }));
    await expect(collect(create().pull!({ signal: signal() }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
    });
    await expect(collect(create().pull!({ since: "later", signal: signal() }))).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
  });
});

describe("acknowledge and resolve", () => {
  it("adds one note and acknowledges once, however often it is called", async () => {
    const alarm = opm.addAlarm({ entity: "5_DiskUtilization", severity: 1 });
    const connector = create();
    await connector.acknowledge!(alarmTicket("5_DiskUtilization"), { signal: signal() });
    await connector.acknowledge!(alarmTicket("5_DiskUtilization"), { signal: signal() });
    expect(opm.actions).toEqual(["addNotes 5_DiskUtilization", "acknowledgeAlarm 5_DiskUtilization"]);
    expect(alarm.notes).toEqual([expect.stringContaining("[runwarden:acknowledge:7]")]);
    const ack = opm.server.requests.find((r) => r.path === "/api/json/alarm/acknowledgeAlarm")!;
    expect(ack.method).toBe("POST");
    expect(Object.fromEntries(ack.query)).toEqual({ entity: "5_DiskUtilization" });
  });

  it("clears with a note, and succeeds when the alarm is already clear or gone", async () => {
    const alarm = opm.addAlarm({ entity: "5_DiskUtilization", severity: 1 });
    const connector = create();
    await connector.resolve!(alarmTicket("5_DiskUtilization"), { signal: signal() });
    await connector.resolve!(alarmTicket("5_DiskUtilization"), { signal: signal() });
    await connector.resolve!(alarmTicket("6_Gone"), { signal: signal() });
    expect(opm.actions).toEqual(["addNotes 5_DiskUtilization", "clearAlarm 5_DiskUtilization"]);
    expect(alarm).toMatchObject({ numericSeverity: 5, severityString: "Clear" });
  });

  it("finds its alarm when listAlarms ignores the entity filter", async () => {
    opm.ignoreEntityFilter = true;
    opm.addAlarm({ entity: "1_Other", severity: 1 });
    const alarm = opm.addAlarm({ entity: "5_DiskUtilization", severity: 1 });
    opm.alarms[0]!.who = "jdoe";
    await create().acknowledge!(alarmTicket("5_DiskUtilization"), { signal: signal() });
    expect(opm.actions).toEqual(["addNotes 5_DiskUtilization", "acknowledgeAlarm 5_DiskUtilization"]);
    expect(alarm.who).toBe("admin");
  });

  it("adds a work note with addNotes (POST, entity and notes in the query), none to an alarm gone", async () => {
    const alarm = opm.addAlarm({ entity: "5_DiskUtilization", severity: 1 });
    const connector = create();
    const text = "Runwarden session 31: approval 4 approved by alice.";
    await connector.note!(alarmTicket("5_DiskUtilization"), text, {
      idempotencyKey: "key-1",
      sessionId: 31,
      signal: signal(),
    });
    await connector.note!(alarmTicket("6_Gone"), text, {
      idempotencyKey: "key-2",
      sessionId: 31,
      signal: signal(),
    });
    expect(opm.actions).toEqual(["addNotes 5_DiskUtilization"]);
    expect(alarm.notes).toEqual([text]);
    const add = opm.server.requests.find((r) => r.path === "/api/json/alarm/addNotes")!;
    expect(add.method).toBe("POST");
    expect(Object.fromEntries(add.query)).toEqual({ entity: "5_DiskUtilization", notes: text });
  });

  it("only adds a note when resolveAction is note", async () => {
    opm.addAlarm({ entity: "5_DiskUtilization", severity: 2 });
    await create({ resolveAction: "note" }).resolve!(alarmTicket("5_DiskUtilization"), { signal: signal() });
    expect(opm.actions).toEqual(["addNotes 5_DiskUtilization"]);
  });

  it("reports a failed action with a retryable code, and a retry finishes the job", async () => {
    opm.addAlarm({ entity: "5_DiskUtilization", severity: 1 });
    opm.failNext("acknowledgeAlarm");
    const connector = create();
    await expect(
      connector.acknowledge!(alarmTicket("5_DiskUtilization"), { signal: signal() }),
    ).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_UNREACHABLE",
      retryable: true,
    });
    await connector.acknowledge!(alarmTicket("5_DiskUtilization"), { signal: signal() });
    expect(opm.actions.filter((a) => a.startsWith("acknowledgeAlarm"))).toHaveLength(1);
  });

  it("describes each write in one line naming the server and the entity, never the key", () => {
    const connector = create();
    const host = new URL(opm.url).host;
    const lines = [
      connector.describe!({ operation: "acknowledge", ticket: alarmTicket("5_DiskUtilization") }),
      connector.describe!({ operation: "resolve", ticket: alarmTicket("5_DiskUtilization") }),
    ];
    expect(lines).toEqual([
      `opmanager ${host}: add a note to alarm 5_DiskUtilization and acknowledge it`,
      `opmanager ${host}: add a note to alarm 5_DiskUtilization and clear it`,
    ]);
    for (const line of lines) expect(line).not.toContain(API_KEY);
  });
});

describe("healthCheck", () => {
  it("lists critical alarms; a refused key is reason auth", async () => {
    expect(await create().healthCheck!({ signal: signal() })).toMatchObject({ ok: true });
    expect(await create({ apiKey: "nope" }).healthCheck!({ signal: signal() })).toMatchObject({
      ok: false,
      reason: "auth",
    });
  });
});

describe("vendorSetup", () => {
  it("shows the notification profile with the webhook URL and the template", () => {
    const where = {
      webhookUrl: "https://rw.example/api/v1/tickets/webhook/opmanager",
      baseUrl: "https://rw.example",
    };
    const steps = opmanager.vendorSetup!(where);
    expect(steps).toEqual(opManagerVendorSetup(where));
    expect(steps[1]!.text).toContain(where.webhookUrl);
    expect(JSON.parse(steps[1]!.snippet!.content)).toEqual(webhookTemplate);
  });
});

testConnector(opmanager, {
  config: {
    webhookAuth: { type: "header", secret: WEBHOOK_SECRET },
    url: "http://127.0.0.1:9",
    apiKey: API_KEY,
  },
  invalidConfigs: [
    { webhookAuth: { type: "header", secret: "short" } },
    { webhookAuth: { type: "none" }, url: "ftp://opm.example.com", apiKey: "k" },
    { webhookAuth: { type: "none" }, pull: { alertType: "AllOfThem" } },
  ],
  secrets: [API_KEY, WEBHOOK_SECRET],
  ticket: alarmTicket("5_DiskUtilization"),
  operations: {
    pull: async (instance, { signal }) => {
      for await (const _ of (instance as MonitoringConnector).pull!({ signal })) {
        // drain
      }
    },
  },
});
