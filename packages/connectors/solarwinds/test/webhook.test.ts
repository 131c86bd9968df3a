// biome-ignore-all lint/suspicious/noTemplateCurlyInString: SolarWinds alert variables are written ${N=…;M=…}
import { testMonitoringWebhooks } from "@runwarden/connector-testkit";
import { isRunwardenError, TicketInput } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import solarwinds, { webhookResetTemplate, webhookTemplate } from "../src/index.js";
import { verifySolarWindsRequest } from "../src/webhook.js";
import { fixture, testContext, webhookRequest } from "./support.js";

const PASSWORD = "webhook-password-1234";
const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});
const auth = basic("orion", PASSWORD);
/** The shared fixture: what the documented template gives once Orion fills it in (no Event: a trigger). */
const sample = fixture<Record<string, unknown>>("solarwinds-webhook.json");

async function parse(body: unknown, config: Record<string, unknown> = {}) {
  const instance = await solarwinds.create(
    solarwinds.configSchema.parse({
      webhookAuth: { type: "basic", username: "orion", password: PASSWORD },
      ...config,
    }),
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

/** The template with Orion's variables replaced, as the alert action sends it. */
function filled(template: Record<string, string>, values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(template).map(([key, value]) => [key, key in values ? values[key]! : value]),
  );
}

describe("verifySolarWindsRequest", () => {
  const basicAuth = { type: "basic", username: "orion", password: PASSWORD } as const;

  it("accepts the alert action's basic credentials", () => {
    expect(verifySolarWindsRequest(basicAuth, webhookRequest({}, auth))).toBe(true);
  });

  it("refuses wrong, partial or missing credentials and other schemes", () => {
    for (const headers of [
      basic("orion", "wrong-password-123"),
      basic("other", PASSWORD),
      { authorization: `Bearer ${PASSWORD}` },
      { authorization: "Basic" },
      {},
    ]) {
      expect(verifySolarWindsRequest(basicAuth, webhookRequest({}, headers))).toBe(false);
    }
  });

  it("accepts a shared secret in a header a proxy adds", () => {
    const header = {
      type: "header",
      header: "X-Runwarden-Webhook-Secret",
      secret: "a-secret-of-16-chars",
    } as const;
    expect(
      verifySolarWindsRequest(
        header,
        webhookRequest({}, { "x-runwarden-webhook-secret": "a-secret-of-16-chars" }),
      ),
    ).toBe(true);
    expect(
      verifySolarWindsRequest(
        header,
        webhookRequest({}, { "x-runwarden-webhook-secret": "a-secret-of-16-char" }),
      ),
    ).toBe(false);
  });
});

describe("parseWebhook", () => {
  it("maps the shared sample: severity, node, IP and the AlertObjectID as fingerprint", async () => {
    const { tickets, warnings } = await parse(sample);
    expect(warnings).toEqual([]);
    expect(tickets).toEqual([
      {
        title: "Node is down on web-01",
        description: "Node web-01 is Down.\n\nFires when a node stops responding to polling",
        severity: "critical",
        environment: "",
        service: "",
        source: "solarwinds",
        externalId: "871",
        fingerprint: "871",
        resolved: false,
        metaData: {
          alertObjectId: 871,
          alertActiveId: 5123,
          alertId: null,
          alertName: "Node is down",
          severityName: "Critical",
          objectType: "Node",
          host: "web-01",
          ip: "10.0.0.15",
          acknowledged: "Not Acknowledged",
          detailsUrl: "https://orion.example.com/Orion/View.aspx?NetObject=AAT:871",
          triggeredAt: "5/14/2025 9:12 AM",
          event: "trigger",
        },
      },
    ]);
    expect(TicketInput.safeParse(tickets[0]).success).toBe(true);
  });

  it("resolves the same fingerprint from the reset action", async () => {
    const { tickets } = await parse({ ...sample, Event: "Reset" });
    expect(tickets[0]).toMatchObject({ resolved: true, fingerprint: "871", metaData: { event: "reset" } });
  });

  it("parses the documented templates once Orion fills them in", async () => {
    const values = {
      AlertObjectID: "42",
      AlertName: "High CPU Load",
      Severity: "Serious",
      NodeName: "db-01",
    };
    const trigger = await parse(filled(webhookTemplate, values));
    expect(trigger.tickets[0]).toMatchObject({
      title: "High CPU Load on db-01",
      severity: "high",
      fingerprint: "42",
      resolved: false,
    });
    // Variables Orion could not fill stay as written: they count as absent.
    const meta = trigger.tickets[0]!.metaData!;
    expect(meta).toMatchObject({ alertActiveId: null, objectType: null, severityName: "Serious" });
    expect("ip" in meta).toBe(false);
    const reset = await parse(filled(webhookResetTemplate, values));
    expect(reset.tickets[0]).toMatchObject({ fingerprint: "42", resolved: true });
  });

  it("maps every Orion severity name and number, and warns on an unknown one", async () => {
    const severities = [];
    for (const s of ["Critical", "Serious", "Warning", "Notice", "Information", "Informational", "2", 4]) {
      severities.push((await parse({ ...sample, Severity: s })).tickets[0]!.severity);
    }
    expect(severities).toEqual(["critical", "high", "medium", "low", "info", "info", "critical", "low"]);
    const unknown = await parse({ ...sample, Severity: "Apocalyptic" }, { defaultSeverity: "high" });
    expect(unknown.tickets[0]!.severity).toBe("high");
    expect(unknown.warnings[0]).toContain('unknown severity "Apocalyptic"');
  });

  it("takes environment and service from fields the user adds, else from the mapping", async () => {
    const added = await parse({ ...sample, Environment: "prod", Service: "checkout" });
    expect(added.tickets[0]).toMatchObject({ environment: "prod", service: "checkout" });
    const defaults = await parse(sample, { mapping: { environment: "dc1", service: "network" } });
    expect(defaults.tickets[0]).toMatchObject({ environment: "dc1", service: "network" });
  });

  it("warns and treats an unknown Event as a trigger", async () => {
    const { tickets, warnings } = await parse({ ...sample, Event: "Exploded" });
    expect(tickets[0]!.resolved).toBe(false);
    expect(warnings[0]).toContain('unknown Event "exploded"');
  });

  it("refuses payloads without an alert object id or name, naming the field", async () => {
    const cases: [unknown, string][] = [
      [null, "body"],
      ["text", "body"],
      [{ ...sample, AlertObjectID: "${N=Alerting;M=AlertObjectID}" }, "AlertObjectID"],
      [{ ...sample, AlertObjectID: "871; DROP" }, "AlertObjectID"],
      [{ ...sample, AlertObjectID: undefined }, "AlertObjectID"],
      [{ ...sample, AlertName: 12 }, "AlertName"],
      [{ ...sample, NodeName: ["web-01"] }, "NodeName"],
    ];
    for (const [body, path] of cases) {
      const error = await refusal(body);
      expect(error.code).toBe("RW_ERR_INPUT_INVALID");
      expect(error.details.fields.map((f) => f.path)).toContain(path);
    }
  });

  it("reads a body Orion broke with an unescaped quote or backslash by the template's keys, with a warning", async () => {
    // What Orion posts when the message holds a Windows volume and quotes: not escaped for JSON.
    const message = 'Volume C:\\ Label:"Data" is 95% full';
    const raw = JSON.stringify(
      filled(webhookTemplate, {
        AlertObjectID: "1204",
        AlertName: "Volume almost full",
        Severity: "Warning",
        NodeName: "fs-01",
        AlertMessage: "@@MESSAGE@@",
      }),
      null,
      2,
    ).replace("@@MESSAGE@@", message);
    expect(raw).toContain('"AlertMessage": "Volume C:\\ Label:"Data" is 95% full",');
    expect(() => JSON.parse(raw)).toThrow();
    const instance = await solarwinds.create(
      solarwinds.configSchema.parse({ webhookAuth: { type: "none" } }),
      testContext(),
    );
    const { tickets, warnings } = await instance.parseWebhook!({
      headers: {},
      body: undefined,
      rawBody: raw,
    });
    expect(warnings[0]).toContain("not valid JSON");
    expect(tickets[0]).toMatchObject({
      fingerprint: "1204",
      severity: "medium",
      title: "Volume almost full on fs-01",
      description: 'Volume C:\\ Label:"Data" is 95% full',
    });
  });

  it("still refuses broken JSON that is not the template", async () => {
    const instance = await solarwinds.create(
      solarwinds.configSchema.parse({ webhookAuth: { type: "none" } }),
      testContext(),
    );
    for (const raw of ['{"a": "b', '{"Other": "x"y"}', '{"AlertObjectID": 871 871}', "AlertObjectID=871"]) {
      await expect(
        Promise.resolve().then(() => instance.parseWebhook!({ headers: {}, body: undefined, rawBody: raw })),
        raw,
      ).rejects.toMatchObject({ code: "RW_ERR_INPUT_INVALID" });
    }
  });

  it("refuses a body over the byte limit and clips long fields", async () => {
    const error = await refusal(
      { ...sample, AlertMessage: "x".repeat(5_000) },
      { limits: { maxBodyBytes: 2_048 } },
    );
    expect(error.code).toBe("RW_ERR_INPUT_TOO_LARGE");
    const { tickets } = await parse({
      ...sample,
      AlertName: "n".repeat(1_000),
      AlertMessage: "m".repeat(16_000),
    });
    expect(TicketInput.safeParse(tickets[0]).success).toBe(true);
  });
});

testMonitoringWebhooks(solarwinds, {
  config: { webhookAuth: { type: "basic", username: "orion", password: PASSWORD } },
  authHeaders: auth,
  samples: [webhookRequest(sample, auth), webhookRequest({ ...sample, Event: "Reset" }, auth)],
});
