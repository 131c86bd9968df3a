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

  it("refuses hostile or title-less payloads, naming the field", async () => {
    const cases: [unknown, string][] = [
      [null, "body"],
      ["text", "body"],
      [{ ...sample, alert_id: "1; DROP" }, "alert_id"],
      [{ ...sample, alert_id: -4 }, "alert_id"],
      [{ ...sample, title: 12 }, "title"],
      [{ body: "no title anywhere", id: "5" }, "title"],
      [{ ...sample, tags: [1, 2] }, "tags"],
    ];
    for (const [body, path] of cases) {
      const error = await refusal(body);
      expect(error.code).toBe("RW_ERR_INPUT_INVALID");
      expect(error.details.fields.map((f) => f.path)).toContain(path);
    }
  });

  it("accepts Datadog's default payload: transition and scope from the title, monitor id from the message link", async () => {
    const body = {
      body: "%%%\nCPU high on web-02\n\n[[Monitor Status](https://app.datadoghq.com/monitors#18692904?)]\n%%%",
      last_updated: "1591216985000",
      event_type: "query_alert_monitor",
      title: "[Triggered on {host:web-02}] CPU high",
      date: "1591216985000",
      org: { id: "415600", name: "Example" },
      id: "5485379890863845239",
    };
    const { tickets, warnings } = await parse(body);
    expect(warnings).toEqual(["monitor 18692904: no priority or alert type, used medium"]);
    expect(tickets[0]).toMatchObject({
      title: "CPU high",
      resolved: false,
      fingerprint: "18692904:host:web-02",
      metaData: { monitorId: 18692904, transition: "Triggered", eventId: "5485379890863845239" },
    });
    const recovered = await parse({ ...body, title: "[Recovered on {host:web-02}] CPU high" });
    expect(recovered.tickets[0]).toMatchObject({ resolved: true, fingerprint: "18692904:host:web-02" });
  });

  it("fingerprints a default payload without any monitor link by its title, so the recovery matches", async () => {
    const body = { title: "[Triggered] Disk full", body: "disk", id: "1", date: "1", last_updated: "1" };
    const firing = (await parse(body)).tickets[0]!;
    const recovered = (await parse({ ...body, title: "[Recovered] Disk full" })).tickets[0]!;
    expect(firing.fingerprint).toMatch(/^title-[0-9a-f]{16}$/);
    expect(recovered).toMatchObject({ resolved: true, fingerprint: firing.fingerprint });
    expect(firing.metaData).toMatchObject({ monitorId: null });
  });

  it("accepts ids as numbers ($ALERT_ID written without quotes)", async () => {
    const { tickets } = await parse({
      ...sample,
      alert_id: 148275309,
      id: 7716548234011,
      org: { id: 11023 },
    });
    expect(tickets[0]).toMatchObject({
      fingerprint: "148275309:host:web-01",
      metaData: { monitorId: 148275309 },
    });
  });

  it("takes alert_title when there is no title, and [Warn]/[Recovered] prefixes when there is no alert_transition", async () => {
    const { title: _t, alert_transition: _a, alert_type: _y, alert_priority: _p, ...rest } = sample;
    const warn = await parse({ ...rest, alert_title: "[Warn on {host:web-01}] High CPU on web-01" });
    expect(warn.tickets[0]).toMatchObject({
      title: "High CPU on web-01",
      severity: "medium",
      resolved: false,
    });
    expect(warn.tickets[0]!.metaData).toMatchObject({ transition: "Warn" });
    const recovered = await parse({
      ...rest,
      alert_title: "[Recovered on {host:web-01}] High CPU on web-01",
    });
    expect(recovered.tickets[0]).toMatchObject({ resolved: true, fingerprint: "148275309:host:web-01" });
  });

  it("reads tags as a list, host_name, and a P-scale $PRIORITY", async () => {
    const { alert_priority: _p, hostname: _h, ...rest } = sample;
    const { tickets } = await parse({
      ...rest,
      tags: ["env:staging", "service:search"],
      host_name: "search-01",
      priority: "P2",
    });
    expect(tickets[0]).toMatchObject({ environment: "staging", service: "search", severity: "high" });
    expect(tickets[0]!.metaData).toMatchObject({ host: "search-01", priority: "P2" });
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
