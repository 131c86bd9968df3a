import { testMonitoringWebhooks } from "@runwarden/connector-testkit";
import { isRunwardenError, TicketInput } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import prometheus from "../src/index.js";
import { verifyAlertmanagerRequest } from "../src/webhook.js";
import { fixture, testContext, webhookRequest } from "./support.js";

const TOKEN = "s3cret-token-for-alertmanager";

async function connector(config: Record<string, unknown> = {}) {
  const parsed = prometheus.configSchema.parse({ webhookAuth: { type: "bearer", token: TOKEN }, ...config });
  return prometheus.create(parsed, testContext());
}

async function parse(body: unknown, config: Record<string, unknown> = {}) {
  const instance = await connector(config);
  return instance.parseWebhook!(webhookRequest(body));
}

async function refusal(body: unknown, config: Record<string, unknown> = {}) {
  try {
    await parse(body, config);
  } catch (error) {
    expect(isRunwardenError(error), String(error)).toBe(true);
    return error as {
      code: string;
      message: string;
      details: { fields: { path: string; message: string }[] };
    };
  }
  throw new Error("expected the payload to be refused");
}

function alert(i: number, overrides: Record<string, unknown> = {}) {
  return {
    status: "firing",
    labels: {
      alertname: "DiskFull",
      instance: `db-${i}:9100`,
      job: "node",
      severity: "warning",
      env: "prod",
    },
    annotations: { summary: `Disk full on db-${i}` },
    startsAt: "2026-11-26T15:12:19.94Z",
    endsAt: "0001-01-01T00:00:00Z",
    generatorURL: "http://127.0.0.1:9090/graph",
    fingerprint: `f${i.toString(16).padStart(15, "0")}`,
    ...overrides,
  };
}

function notification(alerts: unknown[], overrides: Record<string, unknown> = {}) {
  return {
    receiver: "runwarden",
    status: "firing",
    alerts,
    groupLabels: { alertname: "DiskFull" },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "http://127.0.0.1:9093",
    version: "4",
    groupKey: '{}:{alertname="DiskFull"}',
    truncatedAlerts: 0,
    ...overrides,
  };
}

describe("verifyAlertmanagerRequest", () => {
  const bearer = { type: "bearer", token: TOKEN } as const;
  const basic = { type: "basic", username: "alertmanager", password: "correct horse battery" } as const;
  const basicHeader = (user: string, pass: string) =>
    `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

  it("accepts the configured bearer token whatever the header and scheme case", () => {
    expect(verifyAlertmanagerRequest(bearer, webhookRequest({}, { authorization: `Bearer ${TOKEN}` }))).toBe(
      true,
    );
    expect(verifyAlertmanagerRequest(bearer, webhookRequest({}, { Authorization: `bearer ${TOKEN}` }))).toBe(
      true,
    );
  });

  it("refuses when the token is wrong, a prefix, missing or sent with another scheme", () => {
    for (const value of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      "Bearer",
      "",
      `Basic ${TOKEN}`,
      TOKEN,
    ]) {
      expect(verifyAlertmanagerRequest(bearer, webhookRequest({}, { authorization: value })), value).toBe(
        false,
      );
    }
    expect(verifyAlertmanagerRequest(bearer, webhookRequest({}))).toBe(false);
  });

  it("accepts matching basic credentials and refuses any other", () => {
    const ok = basicHeader("alertmanager", "correct horse battery");
    expect(verifyAlertmanagerRequest(basic, webhookRequest({}, { authorization: ok }))).toBe(true);
    for (const value of [
      basicHeader("alertmanager", "wrong"),
      basicHeader("other", "correct horse battery"),
      "Basic !!!not-base64",
      `Bearer ${TOKEN}`,
    ]) {
      expect(verifyAlertmanagerRequest(basic, webhookRequest({}, { authorization: value })), value).toBe(
        false,
      );
    }
  });

  it("accepts anything when auth is deliberately none", () => {
    expect(verifyAlertmanagerRequest({ type: "none" }, webhookRequest({}))).toBe(true);
  });

  it("is what the connector's verifyWebhook uses", async () => {
    const instance = await connector();
    expect(await instance.verifyWebhook!(webhookRequest({}, { authorization: `Bearer ${TOKEN}` }))).toBe(
      true,
    );
    expect(await instance.verifyWebhook!(webhookRequest({}, { authorization: "Bearer nope" }))).toBe(false);
  });
});

describe("parseWebhook: labels as evidence", () => {
  const notification = (labels: Record<string, string>) => ({
    version: "4",
    groupKey: "{}:{}",
    truncatedAlerts: 0,
    status: "firing",
    receiver: "runwarden",
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "http://alertmanager:9093",
    alerts: [
      {
        status: "firing",
        labels: { alertname: "DiskFull", ...labels },
        annotations: {},
        startsAt: "2026-12-01T10:00:00Z",
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: "http://prometheus:9090/graph",
        fingerprint: "0123456789abcdef",
      },
    ],
  });

  it("tries every severity label in order: severity=disaster with priority=P2 is critical", async () => {
    const { tickets, warnings } = await parse(notification({ severity: "disaster", priority: "P2" }));
    expect(tickets[0]!.severity).toBe("critical");
    expect(warnings).toEqual([]);
  });

  it("skips an unknown severity label and reads priority, then level", async () => {
    expect(
      (await parse(notification({ severity: "sev-unknown", priority: "P2" }))).tickets[0]!.severity,
    ).toBe("high");
    expect((await parse(notification({ level: "warning" }))).tickets[0]!.severity).toBe("medium");
  });

  it("prefers app.kubernetes.io/name or container over the exporter's job for the service", async () => {
    const k8s = await parse(
      notification({ job: "kube-state-metrics", "app.kubernetes.io/name": "payments", container: "api" }),
    );
    expect(k8s.tickets[0]!.service).toBe("payments");
    expect((await parse(notification({ job: "blackbox", container: "web" }))).tickets[0]!.service).toBe(
      "web",
    );
    expect((await parse(notification({ job: "checkout" }))).tickets[0]!.service).toBe("checkout");
  });
});

describe("parseWebhook", () => {
  it("maps a real Alertmanager notification to one ticket", async () => {
    const { tickets, warnings } = await parse(fixture("alertmanager-real-webhook.json"));
    expect(warnings).toEqual([]);
    expect(tickets).toHaveLength(1);
    expect(tickets[0]).toMatchObject({
      title: "Test alert posted by the toolchain prototype",
      description: "posted to /api/v2/alerts",
      severity: "medium",
      environment: "",
      service: "proto",
      source: "prometheus",
      externalId: "ca009325d7d77d6e",
      fingerprint: "ca009325d7d77d6e",
      resolved: false,
    });
    expect(tickets[0]!.metaData).toMatchObject({
      alertname: "ProtoTestAlert",
      instance: "127.0.0.1:9999",
      host: "127.0.0.1",
      job: "proto",
      endsAt: null,
      receiver: "node-webhook",
      groupKey: '{}:{alertname="ProtoTestAlert"}',
      status: "firing",
    });
  });

  it("marks the same fingerprint resolved when Alertmanager sends the resolved notification", async () => {
    const firing = (await parse(fixture("alertmanager-real-webhook.json"))).tickets[0]!;
    const resolved = (await parse(fixture("alertmanager-real-webhook-resolved.json"))).tickets[0]!;
    expect(resolved.resolved).toBe(true);
    expect(resolved.fingerprint).toBe(firing.fingerprint);
    expect(resolved.externalId).toBe(firing.externalId);
    expect(resolved.metaData).toMatchObject({ endsAt: "2026-11-26T15:12:20.981Z", status: "resolved" });
  });

  it("keeps the runbook URL and strips the port from the host; job=node is an exporter, not a service", async () => {
    const { tickets } = await parse(fixture("alertmanager-webhook-v4.json"));
    expect(tickets[0]).toMatchObject({
      severity: "critical",
      service: "",
      title: "CPU usage is over 90%",
    });
    expect(tickets[0]!.metaData).toMatchObject({
      host: "web-01",
      runbookUrl: "https://runbooks.example.com/cpu",
    });
  });

  it("maps a rule-fired alert with severity info", async () => {
    const { tickets } = await parse(fixture("alertmanager-prometheus-rule-webhook.json"));
    expect(tickets[0]).toMatchObject({
      severity: "info",
      service: "prometheus",
      fingerprint: "a7c50f9385c659a3",
    });
  });

  it("returns one ticket per alert when a grouped notification carries many, firing and resolved", async () => {
    const alerts = Array.from({ length: 1_000 }, (_, i) =>
      alert(i, i % 3 === 0 ? { status: "resolved" } : {}),
    );
    const started = performance.now();
    const { tickets, warnings } = await parse(notification(alerts));
    const ms = performance.now() - started;
    expect(warnings).toEqual([]);
    expect(tickets).toHaveLength(1_000);
    expect(new Set(tickets.map((t) => t.fingerprint)).size).toBe(1_000);
    expect(tickets.filter((t) => t.resolved)).toHaveLength(334);
    expect(tickets[7]).toMatchObject({ title: "Disk full on db-7", environment: "prod", severity: "medium" });
    expect(ms).toBeLessThan(2_000);
  });

  it("produces tickets that pass core's TicketInput schema even with oversized labels", async () => {
    const long = "x".repeat(60_000);
    const { tickets } = await parse(
      notification([
        alert(1, {
          annotations: { summary: long, description: long },
          labels: { alertname: "A", service: long, env: long },
        }),
      ]),
    );
    const checked = TicketInput.safeParse(tickets[0]);
    expect(checked.success, JSON.stringify(checked.error?.issues)).toBe(true);
    expect(tickets[0]!.title.length).toBe(500);
    expect(tickets[0]!.description?.length).toBe(20_000);
  });

  it("uses the configured labels, severities and defaults", async () => {
    const { tickets, warnings } = await parse(
      notification([
        alert(1, { labels: { alertname: "X", level: "SEV1", cluster: "eu-1", team_service: "billing" } }),
      ]),
      {
        mapping: { severity: ["level"], environment: ["cluster"], service: ["team_service"] },
        severities: { sev1: "critical" },
      },
    );
    expect(warnings).toEqual([]);
    expect(tickets[0]).toMatchObject({ severity: "critical", environment: "eu-1", service: "billing" });
  });

  it("uses the default severity and warns when the severity label is unknown or missing", async () => {
    const { tickets, warnings } = await parse(
      notification([
        alert(1, { labels: { alertname: "X", severity: "apocalyptic" } }),
        alert(2, { labels: { alertname: "Y" } }),
      ]),
      { defaultSeverity: "high", defaultEnvironment: "staging" },
    );
    expect(tickets.map((t) => t.severity)).toEqual(["high", "high"]);
    expect(tickets[1]!.environment).toBe("staging");
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('unknown severity "apocalyptic"');
    expect(warnings[1]).toContain("no severity label");
  });

  it("builds a title from alertname and instance when there is no summary", async () => {
    const { tickets } = await parse(notification([alert(3, { annotations: {} })]));
    expect(tickets[0]!.title).toBe("DiskFull on db-3:9100");
    expect(tickets[0]!.description).toBe("DiskFull is firing on db-3:9100.");
  });

  it("warns when Alertmanager truncated the group and when an alert repeats", async () => {
    const { tickets, warnings } = await parse(notification([alert(1), alert(1)], { truncatedAlerts: 5 }));
    expect(tickets).toHaveLength(1);
    expect(warnings.join("\n")).toContain("left out 5 alerts");
    expect(warnings.join("\n")).toContain("appears twice");
  });

  it("refuses bodies that are not an Alertmanager v4 notification, naming the field", async () => {
    const cases: [unknown, string][] = [
      [null, "body"],
      [[], "body"],
      ["just a string", "body"],
      [42, "body"],
      [{}, "version"],
      [notification([], { version: "3" }), "version"],
      [notification("nope" as unknown as unknown[]), "alerts"],
      [notification([{ ...alert(1), fingerprint: "" }]), "alerts.0.fingerprint"],
      [notification([{ ...alert(1), labels: { alertname: 7 } }]), "alerts.0.labels.alertname"],
      [notification([{ ...alert(1), status: "exploded" }]), "alerts.0.status"],
    ];
    for (const [body, path] of cases) {
      const error = await refusal(body);
      expect(error.code).toBe("RW_ERR_INPUT_INVALID");
      expect(
        error.details.fields.map((f) => f.path),
        JSON.stringify(body),
      ).toContain(path);
    }
  });

  it("refuses a body that is not JSON", async () => {
    const instance = await connector();
    let caught: unknown;
    try {
      instance.parseWebhook!({ headers: {}, body: undefined, rawBody: "{not json" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
      message: "Alertmanager webhook body is not JSON",
    });
  });

  it("refuses a notification with more alerts than the limit", async () => {
    const error = await refusal(notification([alert(1), alert(2), alert(3)]), { limits: { maxAlerts: 2 } });
    expect(error.code).toBe("RW_ERR_INPUT_INVALID");
    expect(error.details.fields[0]!.path).toBe("alerts");
  });

  it("refuses a body over the byte limit with RW_ERR_INPUT_TOO_LARGE", async () => {
    const error = await refusal(notification([alert(1, { annotations: { summary: "y".repeat(4_096) } })]), {
      limits: { maxBodyBytes: 1_024 },
    });
    expect(error.code).toBe("RW_ERR_INPUT_TOO_LARGE");
  });

  it("caps the reported fields when a hostile payload has thousands of errors", async () => {
    const alerts = Array.from({ length: 1_500 }, () => ({ status: 1 }));
    const error = await refusal(notification(alerts));
    expect(error.code).toBe("RW_ERR_INPUT_INVALID");
    expect(error.details.fields).toHaveLength(20);
  });

  it("survives prototype-pollution keys in labels", async () => {
    const body = `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"P","__proto__":{"polluted":"yes"},"constructor":"c"},"annotations":{},"startsAt":"2026-11-26T15:12:19Z","fingerprint":"p1"}]}`;
    let result: unknown;
    try {
      result = await parse(body);
    } catch (error) {
      result = error;
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    if (isRunwardenError(result)) expect(result.code).toBe("RW_ERR_INPUT_INVALID");
  });
});

const auth = { authorization: `Bearer ${TOKEN}` };
testMonitoringWebhooks(prometheus, {
  config: { webhookAuth: { type: "bearer", token: TOKEN } },
  authHeaders: auth,
  samples: [
    "alertmanager-real-webhook.json",
    "alertmanager-real-webhook-resolved.json",
    "alertmanager-prometheus-rule-webhook.json",
    "alertmanager-webhook-v4.json",
  ].map((name) => webhookRequest(fixture(name), auth)),
});
