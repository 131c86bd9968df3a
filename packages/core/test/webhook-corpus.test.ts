/**
 * Generic webhook corpus: payloads of tools without a connector (fixtures/webhook-corpus,
 * SOURCES.md), mapped by webhook sources whose mappings are the ones the docs show, each with the
 * ticket fields it must give. Also the connector guide's generic ticket JSON on the built-in source.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createEngine } from "../src/engine.js";

const corpus = (name: string): unknown =>
  JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "webhook-corpus", name), "utf8"));
const admin = { actor: { id: "admin", roles: ["admin" as const] } };

/** The Grafana Alerting mapping docs/webhook-sources.md shows. */
const grafanaSource = {
  name: "grafana",
  items: "alerts",
  mapping: `{
    "title": annotations.summary ? annotations.summary : labels.alertname,
    "description": annotations.description,
    "labels": labels,
    "meta_data": { "runbook_url": annotations.runbook_url, "generator_url": generatorURL, "values": values }
  }`,
  fingerprint: "fingerprint",
  resolveWhen: `status = "resolved"`,
};

/** The legacy Grafana alerting mapping docs/webhook-sources.md shows. */
const grafanaLegacySource = {
  name: "grafana-legacy",
  mapping: `{
    "title": $replace(title, /^\\[[A-Za-z ]+\\]\\s*/, ""),
    "description": message & " (" & $join(evalMatches.(metric & "=" & $string(value)), ", ") & ")",
    "severity": state = "alerting" ? "high" : "info",
    "external_id": $string(ruleId)
  }`,
  fingerprint: `"rule-" & $string(ruleId)`,
  resolveWhen: `state = "ok"`,
};

describe("generic webhook corpus", () => {
  it("Grafana Alerting's default payload: one ticket per alert, labels as evidence, fingerprint and resolve from each alert", async () => {
    const engine = await createEngine({ vault: { key: randomBytes(32) } });
    const { token } = await engine.webhookSources.create(grafanaSource, admin);
    const body = corpus("grafana-alerting-default-payload.json") as { alerts: { status: string }[] };

    const trial = await engine.webhookSources.tryMapping(grafanaSource, body);
    expect(trial.tickets.map((t) => [t.title, t.severity, t.fingerprint, t.resolved])).toEqual([
      ["This alert was triggered for zone us-1", "medium", "c6eadffa33fcdf37", false],
      ["This alert was triggered for zone eu-1", "medium", "bc97ff14869b13e3", false],
    ]);
    expect(trial.tickets[0]).toMatchObject({
      description: "The system has high memory usage",
      source: "try",
      metaData: {
        labels: { alertname: "High memory usage", team: "blue", zone: "us-1" },
        runbook_url: "https://myrunbook.com/runbook/1234",
        values: { B: 44.23943737541908, C: 1 },
      },
    });

    const headers = { authorization: `Bearer ${token}` };
    const stored = await engine.tickets.ingestWebhook("grafana", { headers, body, rawBody: "" });
    expect(stored.tickets.map((t) => t.ticket.source)).toEqual(["grafana", "grafana"]);
    const resolvedBody = { ...body, alerts: body.alerts.map((a) => ({ ...a, status: "resolved" })) };
    const resolved = await engine.tickets.ingestWebhook("grafana", {
      headers,
      body: resolvedBody,
      rawBody: "",
    });
    expect(resolved.resolved.map((t) => t.id).sort()).toEqual(stored.tickets.map((t) => t.ticket.id).sort());
    await engine.close();
  });

  it("Grafana's legacy alerting notification: title prefix removed, eval matches in the description", async () => {
    const engine = await createEngine({ vault: { key: randomBytes(32) } });
    const trial = await engine.webhookSources.tryMapping(
      grafanaLegacySource,
      corpus("grafana-legacy-test-notification.json"),
    );
    expect(trial.tickets).toHaveLength(1);
    expect(trial.tickets[0]).toMatchObject({
      title: "Test notification",
      description:
        "Someone is testing the alert notification within grafana. (High value=100, Higher Value=200)",
      severity: "high",
      externalId: "0",
      fingerprint: "rule-0",
      resolved: false,
    });
    await engine.close();
  });

  it("the connector guide's generic ticket JSON still works on the built-in generic source", async () => {
    const engine = await createEngine({ vault: { key: randomBytes(32) } });
    const body = {
      title: "Database connection timeout",
      description: "Connection pool exhausted on db-prod-01.internal (10.0.1.21)",
      severity: "critical",
      environment: "production",
      service: "database",
      external_id: 123,
    };
    const result = await engine.tickets.ingestWebhook("generic", { headers: {}, body, rawBody: "" });
    expect(result.tickets[0]!.ticket).toMatchObject({
      title: "Database connection timeout",
      severity: "critical",
      environment: "prod",
      service: "database",
      source: "generic",
      externalId: "123",
    });
    expect(result.tickets[0]!.ticket.analysis?.entities).toMatchObject({
      hosts: ["db-prod-01.internal"],
      ips: ["10.0.1.21"],
    });
    await engine.close();
  });
});
