import { testMonitoringWebhooks } from "@runwarden/connector-testkit";
import { isRunwardenError, TicketInput } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import datadog, { webhookTemplate } from "../src/index.js";
import { verifyDatadogRequest } from "../src/webhook.js";
import { fixture, testContext, webhookRequest } from "./support.js";

const SECRET = "dd-webhook-shared-secret-123";
const sample = fixture<Record<string, unknown>>("datadog-webhook.json");

async function parse(body: unknown, config: Record<string, unknown> = {}) {
  const instance = await datadog.create(
    datadog.configSchema.parse({ webhookAuth: { type: "header", secret: SECRET }, ...config }),
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

describe("verifyDatadogRequest", () => {
  const auth = { type: "header", header: "X-Runwarden-Webhook-Secret", secret: SECRET } as const;

  it("accepts the shared secret in the configured header, whatever its case", () => {
    expect(verifyDatadogRequest(auth, webhookRequest({}, { "x-runwarden-webhook-secret": SECRET }))).toBe(
      true,
    );
    expect(verifyDatadogRequest(auth, webhookRequest({}, { "X-Runwarden-Webhook-Secret": SECRET }))).toBe(
      true,
    );
  });

  it("refuses a wrong, partial, padded or missing secret", () => {
    for (const value of [`${SECRET}x`, SECRET.slice(1), ` ${SECRET}`, "", "Bearer " + SECRET]) {
      expect(
        verifyDatadogRequest(auth, webhookRequest({}, { "x-runwarden-webhook-secret": value })),
        value,
      ).toBe(false);
    }
    expect(verifyDatadogRequest(auth, webhookRequest({}, { authorization: SECRET }))).toBe(false);
  });

  it("accepts basic auth written into the webhook URL", () => {
    const basic = { type: "basic", username: "datadog", password: "long-enough-password" } as const;
    const header = (p: string) => ({
      authorization: `Basic ${Buffer.from(`datadog:${p}`).toString("base64")}`,
    });
    expect(verifyDatadogRequest(basic, webhookRequest({}, header("long-enough-password")))).toBe(true);
    expect(verifyDatadogRequest(basic, webhookRequest({}, header("wrong")))).toBe(false);
  });
});

describe("parseWebhook", () => {
  it("maps the documented payload: P1, tags, host and a stable fingerprint", async () => {
    const { tickets, warnings } = await parse(sample);
    expect(warnings).toEqual([]);
    expect(tickets).toHaveLength(1);
    expect(tickets[0]).toMatchObject({
      title: "High CPU on web-01",
      description: "CPU usage is over 90% on web-01 @webhook-remediator",
      severity: "critical",
      environment: "prod",
      service: "checkout",
      source: "datadog",
      externalId: "148275309:host:web-01",
      fingerprint: "148275309:host:web-01",
      resolved: false,
    });
    expect(tickets[0]!.metaData).toMatchObject({
      monitorId: 148275309,
      host: "web-01",
      transition: "Triggered",
      alertCycleKey: "7716548234011230000",
      date: "2024-05-14T09:12:30.000Z",
      tags: ["env:prod", "host:web-01", "monitor", "service:checkout"],
    });
    expect(TicketInput.safeParse(tickets[0]).success).toBe(true);
  });

  it("resolves the same fingerprint on a Recovered transition", async () => {
    const { tickets } = await parse({
      ...sample,
      alert_transition: "Recovered",
      alert_type: "success",
      title: "[Recovered on {host:web-01}] High CPU on web-01",
    });
    expect(tickets[0]).toMatchObject({
      resolved: true,
      fingerprint: "148275309:host:web-01",
      title: "High CPU on web-01",
    });
  });

  it("maps each priority through the configurable table", async () => {
    const severities = [];
    for (const p of ["P1", "P2", "P3", "P4", "P5"])
      severities.push((await parse({ ...sample, alert_priority: p })).tickets[0]!.severity);
    expect(severities).toEqual(["critical", "high", "medium", "low", "info"]);
    const custom = await parse(
      { ...sample, alert_priority: "P3" },
      { mapping: { priorities: { P3: "high" } } },
    );
    expect(custom.tickets[0]!.severity).toBe("high");
  });

  it("treats unsubstituted $VARIABLES as absent and falls back on the alert type", async () => {
    const { tickets, warnings } = await parse({
      ...sample,
      alert_priority: "$ALERT_PRIORITY",
      alert_type: "warning",
      alert_transition: "Warn",
      tags: "$TAGS",
      alert_scope: "*",
    });
    expect(warnings).toEqual([]);
    expect(tickets[0]).toMatchObject({ severity: "medium", environment: "", fingerprint: "148275309" });
  });

  it("uses the default severity and warns when nothing hints at one", async () => {
    const { tickets, warnings } = await parse(
      { ...sample, alert_priority: "", alert_type: "" },
      { defaultSeverity: "low" },
    );
    expect(tickets[0]!.severity).toBe("low");
    expect(warnings[0]).toContain("no priority or alert type");
  });

  it("normalises the scope so groups in any order share a fingerprint", async () => {
    const a = await parse({ ...sample, alert_scope: "host:web-01,env:prod" });
    const b = await parse({ ...sample, alert_scope: " env:prod , host:web-01" });
    expect(a.tickets[0]!.fingerprint).toBe("148275309:env:prod,host:web-01");
    expect(b.tickets[0]!.fingerprint).toBe(a.tickets[0]!.fingerprint);
  });

  it("warns and treats an unknown transition as firing", async () => {
    const { tickets, warnings } = await parse({ ...sample, alert_transition: "Exploded" });
    expect(tickets[0]!.resolved).toBe(false);
    expect(warnings[0]).toContain('unknown alert transition "Exploded"');
  });

  it("parses the documented template once Datadog fills it in", async () => {
    const filled = JSON.parse(
      JSON.stringify(webhookTemplate)
        .replace("$ALERT_ID", "42")
        .replace("$ALERT_TRANSITION", "Re-Triggered")
        .replace("$EVENT_TITLE", "[Re-Triggered on {service:api}] Error rate high"),
    );
    const { tickets } = await parse(filled);
    expect(tickets[0]).toMatchObject({
      title: "Error rate high",
      fingerprint: "42:service:api",
      resolved: false,
    });
  });

  it("refuses payloads without a monitor id, transition or title, naming the field", async () => {
    const cases: [unknown, string][] = [
      [null, "body"],
      ["text", "body"],
      [{ ...sample, alert_id: "$ALERT_ID" }, "alert_id"],
      [{ ...sample, alert_id: "1; DROP" }, "alert_id"],
      [{ ...sample, alert_transition: undefined }, "alert_transition"],
      [{ ...sample, title: 12 }, "title"],
      [{ ...sample, tags: ["env:prod"] }, "tags"],
    ];
    for (const [body, path] of cases) {
      const error = await refusal(body);
      expect(error.code).toBe("RW_ERR_INPUT_INVALID");
      expect(error.details.fields.map((f) => f.path)).toContain(path);
    }
  });

  it("refuses a body over the byte limit", async () => {
    const error = await refusal({ ...sample, body: "x".repeat(5_000) }, { limits: { maxBodyBytes: 2_048 } });
    expect(error.code).toBe("RW_ERR_INPUT_TOO_LARGE");
  });

  it("clips oversized fields to the ticket limits", async () => {
    const { tickets } = await parse({ ...sample, title: "t".repeat(4_000), body: "b".repeat(200_000) });
    expect(TicketInput.safeParse(tickets[0]).success).toBe(true);
  });
});

const auth = { "X-Runwarden-Webhook-Secret": SECRET };
testMonitoringWebhooks(datadog, {
  config: { webhookAuth: { type: "header", secret: SECRET } },
  authHeaders: auth,
  samples: [
    webhookRequest(sample, auth),
    webhookRequest({ ...sample, alert_transition: "Recovered", alert_type: "success" }, auth),
  ],
});
