import { testMonitoringWebhooks } from "@runwarden/connector-testkit";
import { isRunwardenError, TicketInput } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import opmanager, { webhookTemplate } from "../src/index.js";
import { verifyOpManagerRequest } from "../src/webhook.js";
import { fixture, testContext, webhookRequest } from "./support.js";

const SECRET = "opm-webhook-shared-secret-1";
const auth = { "X-Runwarden-Webhook-Secret": SECRET };
const sample = fixture<Record<string, unknown>>("opmanager-webhook.json");

async function parse(body: unknown, config: Record<string, unknown> = {}) {
  const instance = await opmanager.create(
    opmanager.configSchema.parse({ webhookAuth: { type: "header", secret: SECRET }, ...config }),
    testContext(),
  );
  return instance.parseWebhook!(webhookRequest(body));
}

async function refusal(body: unknown, config: Record<string, unknown> = {}) {
  try {
    await parse(body, config);
  } catch (error) {
    expect(isRunwardenError(error)).toBe(true);
    return error as { code: string; details: { fields: { path: string }[] } };
  }
  throw new Error("expected a refusal");
}

describe("verifyOpManagerRequest", () => {
  const header = { type: "header", header: "X-Runwarden-Webhook-Secret", secret: SECRET } as const;

  it("accepts the shared secret in the configured header, whatever its case", () => {
    expect(verifyOpManagerRequest(header, webhookRequest({}, { "x-runwarden-webhook-secret": SECRET }))).toBe(
      true,
    );
  });

  it("refuses a wrong, partial or missing secret", () => {
    for (const value of [`${SECRET}x`, SECRET.slice(1), ""]) {
      expect(
        verifyOpManagerRequest(header, webhookRequest({}, { "x-runwarden-webhook-secret": value })),
      ).toBe(false);
    }
    expect(verifyOpManagerRequest(header, webhookRequest({}, {}))).toBe(false);
  });

  it("accepts basic credentials when configured so", () => {
    const basic = { type: "basic", username: "opm", password: "long-enough-password" } as const;
    const headers = (p: string) => ({ authorization: `Basic ${Buffer.from(`opm:${p}`).toString("base64")}` });
    expect(verifyOpManagerRequest(basic, webhookRequest({}, headers("long-enough-password")))).toBe(true);
    expect(verifyOpManagerRequest(basic, webhookRequest({}, headers("wrong")))).toBe(false);
  });
});

describe("parseWebhook", () => {
  it("maps the shared sample: severity, device, IP and the entity as fingerprint", async () => {
    const { tickets, warnings } = await parse(sample);
    expect(warnings).toEqual([]);
    expect(tickets).toEqual([
      {
        title: "Disk Utilization is 97%, threshold value for this monitor is 90%",
        description: "Disk Utilization is 97%, threshold value for this monitor is 90%",
        severity: "critical",
        environment: "",
        service: "",
        source: "opmanager",
        externalId: "5_DiskUtilization",
        fingerprint: "5_DiskUtilization",
        resolved: false,
        metaData: {
          entity: "5_DiskUtilization",
          alarmId: "3",
          severityName: "Critical",
          category: "Server",
          eventType: "Disk Utilization",
          host: "web-01",
          ip: "10.0.0.15",
          lastPolledValue: "97",
          deviceType: "Linux",
          modifiedAt: "14 May 2025 09:12:30 AM UTC",
        },
      },
    ]);
    expect(TicketInput.safeParse(tickets[0]).success).toBe(true);
  });

  it("resolves the same fingerprint on a Clear notification", async () => {
    const { tickets, warnings } = await parse({ ...sample, severity: "Clear" });
    expect(warnings).toEqual([]);
    expect(tickets[0]).toMatchObject({ resolved: true, fingerprint: "5_DiskUtilization", severity: "info" });
  });

  it("maps each severity name through the configurable table and warns on an unknown one", async () => {
    const severities = [];
    for (const s of ["Critical", "Trouble", "Attention", "Service Down", "critical", "2"]) {
      severities.push((await parse({ ...sample, severity: s })).tickets[0]!.severity);
    }
    expect(severities).toEqual(["critical", "high", "medium", "critical", "critical", "high"]);
    const unknown = await parse({ ...sample, severity: "Dire" }, { defaultSeverity: "low" });
    expect(unknown.tickets[0]!.severity).toBe("low");
    expect(unknown.warnings[0]).toContain('unknown severity "Dire"');
  });

  it("parses the documented template once OpManager fills it in", async () => {
    const filled = { ...webhookTemplate, entity: "9_CPU", severity: "Attention", message: "CPU is 85%" };
    const { tickets } = await parse(filled);
    expect(tickets[0]).toMatchObject({
      title: "CPU is 85%",
      fingerprint: "9_CPU",
      severity: "medium",
      resolved: false,
    });
    expect(tickets[0]!.metaData).toMatchObject({ alarmId: null, category: null });
    expect("host" in tickets[0]!.metaData!).toBe(false);
  });

  it("refuses payloads without an entity or severity, naming the field", async () => {
    const cases: [unknown, string][] = [
      [null, "body"],
      [[], "body"],
      [{ ...sample, entity: "$entity" }, "entity"],
      [{ ...sample, entity: "" }, "entity"],
      [{ ...sample, entity: "5_Disk\u0000" }, "entity"],
      [{ ...sample, entity: undefined }, "entity"],
      [{ ...sample, severity: 1 }, "severity"],
      [{ ...sample, message: { text: "x" } }, "message"],
    ];
    for (const [body, path] of cases) {
      const error = await refusal(body);
      expect(error.code).toBe("RW_ERR_INPUT_INVALID");
      expect(error.details.fields.map((f) => f.path)).toContain(path);
    }
  });

  it("reads a body broken by an unescaped quote or backslash by the template's keys, with a warning", async () => {
    const message = 'Service "Print Spooler" on \\\\fs-01\\share is down';
    const raw = JSON.stringify({ ...sample, message: "@@M@@" }).replace("@@M@@", message);
    expect(() => JSON.parse(raw)).toThrow();
    const instance = await opmanager.create(
      opmanager.configSchema.parse({ webhookAuth: { type: "none" } }),
      testContext(),
    );
    const { tickets, warnings } = await instance.parseWebhook!({
      headers: {},
      body: undefined,
      rawBody: raw,
    });
    expect(warnings[0]).toContain("not valid JSON");
    expect(tickets[0]).toMatchObject({
      fingerprint: "5_DiskUtilization",
      title: message,
      severity: "critical",
    });
    await expect(
      Promise.resolve().then(() =>
        instance.parseWebhook!({ headers: {}, body: undefined, rawBody: '{"x": "y"z"}' }),
      ),
    ).rejects.toMatchObject({ code: "RW_ERR_INPUT_INVALID" });
  });

  it("refuses a body over the byte limit and clips long fields", async () => {
    const error = await refusal(
      { ...sample, message: "x".repeat(5_000) },
      { limits: { maxBodyBytes: 2_048 } },
    );
    expect(error.code).toBe("RW_ERR_INPUT_TOO_LARGE");
    const { tickets } = await parse({
      ...sample,
      message: "m".repeat(16_000),
      device_name: "d".repeat(1_000),
    });
    expect(TicketInput.safeParse(tickets[0]).success).toBe(true);
  });
});

testMonitoringWebhooks(opmanager, {
  config: { webhookAuth: { type: "header", secret: SECRET } },
  authHeaders: auth,
  samples: [webhookRequest(sample, auth), webhookRequest({ ...sample, severity: "Clear" }, auth)],
});
