/**
 * Payload corpus: Alertmanager webhook bodies from public projects (see corpus/SOURCES.md) and the
 * real captures of an Alertmanager 0.25 (fixtures/alertmanager-real-*, -prometheus-rule-*), each
 * mapped through the connector and the engine, with the ticket fields each must give.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createEngine } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import prometheus from "../src/index.js";
import { labelSetFingerprint } from "../src/internal/fingerprint.js";
import { fixture, testContext, webhookRequest } from "./support.js";

const TOKEN = "corpus-token-for-alertmanager";
const corpus = (name: string): unknown =>
  JSON.parse(readFileSync(join(import.meta.dirname, "corpus", name), "utf8"));

async function parse(body: unknown) {
  const config = prometheus.configSchema.parse({ webhookAuth: { type: "bearer", token: TOKEN } });
  const instance = await prometheus.create(config, testContext());
  return instance.parseWebhook!(webhookRequest(body));
}

async function engineWith() {
  return createEngine({
    vault: { key: randomBytes(32) },
    connectors: [{ connector: prometheus, config: { webhookAuth: { type: "bearer", token: TOKEN } } }],
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe("Alertmanager corpus", () => {
  it("real capture (Alertmanager 0.25, node_exporter target): firing, then resolved on the same fingerprint", async () => {
    const firing = await parse(fixture("alertmanager-real-webhook.json"));
    const resolved = await parse(fixture("alertmanager-real-webhook-resolved.json"));
    expect(firing.tickets).toHaveLength(1);
    expect(firing.tickets[0]!.fingerprint).toBe("ca009325d7d77d6e");
    expect(firing.tickets[0]!.resolved).toBe(false);
    expect(resolved.tickets[0]).toMatchObject({ fingerprint: "ca009325d7d77d6e", resolved: true });
  });

  it("real capture of a Prometheus rule: severity info, service prometheus (a self-scrape job), host 127.0.0.1 as an IP", async () => {
    const { tickets, warnings } = await parse(fixture("alertmanager-prometheus-rule-webhook.json"));
    expect(warnings).toEqual([]);
    expect(tickets[0]).toMatchObject({
      title: "Prometheus rule fired for 127.0.0.1:9090",
      severity: "info",
      service: "prometheus",
      fingerprint: "a7c50f9385c659a3",
      resolved: false,
      metaData: { alertname: "ProtoPrometheusUp", host: "127.0.0.1", instance: "127.0.0.1:9090" },
    });
    const engine = await engineWith();
    const result = await engine.tickets.ingestWebhook("prometheus", {
      headers: auth,
      body: fixture("alertmanager-prometheus-rule-webhook.json"),
      rawBody: "",
    });
    expect(result.tickets[0]!.ticket.analysis?.entities.ips).toContain("127.0.0.1");
    await engine.close();
  });

  it("alertmonitor (Alertmanager 2019, no fingerprints): three tickets, major → high, IPs as entities, no exporter service", async () => {
    const body = corpus("alertmonitor-blackbox-icmp-firing.json") as {
      alerts: { labels: Record<string, string> }[];
    };
    const { tickets, warnings } = await parse(body);
    expect(warnings).toEqual([]);
    expect(tickets.map((t) => t.fingerprint)).toEqual(body.alerts.map((a) => labelSetFingerprint(a.labels)));
    expect(new Set(tickets.map((t) => t.fingerprint)).size).toBe(3);
    for (const [i, ip] of ["172.29.254.30", "172.29.254.50", "172.29.254.66"].entries()) {
      expect(tickets[i]).toMatchObject({
        title: `ICMP ping failed on ${ip}`,
        description: `${ip} does not reply to ICMP pings`,
        severity: "high",
        service: "",
        resolved: false,
        metaData: { host: ip, job: "blackbox-icmp" },
      });
    }
    const engine = await engineWith();
    const stored = await engine.tickets.ingestWebhook("prometheus", { headers: auth, body, rawBody: "" });
    expect(stored.tickets.map((t) => t.ticket.analysis?.entities.ips[0])).toEqual([
      "172.29.254.30",
      "172.29.254.50",
      "172.29.254.66",
    ]);
    const cleared = await engine.tickets.ingestWebhook("prometheus", {
      headers: auth,
      body: corpus("alertmonitor-blackbox-icmp-resolved.json"),
      rawBody: "",
    });
    expect(cleared.resolved.map((t) => t.id).sort()).toEqual(stored.tickets.map((t) => t.ticket.id).sort());
    await engine.close();
  });

  it("kube-state-metrics (a real resolved alert): Warning → medium, service from deployment, not the exporter", async () => {
    const { tickets } = await parse(corpus("pythonwebhook-kube-state-metrics-resolved.json"));
    expect(tickets[0]).toMatchObject({
      title: "Kubernetes Deployment Replicas Mismatch",
      severity: "medium",
      service: "eric-log-transformer",
      fingerprint: "fbab788ec4c1018b",
      resolved: true,
      metaData: { endsAt: "2022-07-29T11:17:27.3Z", host: "192.168.69.53" },
    });
    // Its fingerprint is Alertmanager's own: the labels hash to it.
    const alert = (
      corpus("pythonwebhook-kube-state-metrics-resolved.json") as {
        alerts: { labels: Record<string, string> }[];
      }
    ).alerts[0]!;
    expect(labelSetFingerprint(alert.labels)).toBe("fbab788ec4c1018b");
  });

  it("node-exporter example with many labels: service label wins, environment kept, instance host and node reach the entities", async () => {
    const { tickets } = await parse(corpus("inres-node-exporter-firing.json"));
    expect(tickets[0]).toMatchObject({
      title: "Critical CPU usage detected on production web server 3",
      severity: "critical",
      service: "web-frontend",
      environment: "production",
      fingerprint: "7c7c4ce9f8a2b1d",
      metaData: {
        host: "prod-web-server-01",
        runbookUrl: "https://wiki.company.com/runbooks/high-cpu-usage",
      },
    });
    const engine = await engineWith();
    const stored = await engine.tickets.ingestWebhook("prometheus", {
      headers: auth,
      body: corpus("inres-node-exporter-firing.json"),
      rawBody: "",
    });
    const ticket = stored.tickets[0]!.ticket;
    expect(ticket.environment).toBe("prod");
    expect(ticket.analysis?.entities.hosts.slice(0, 3)).toEqual([
      "prod-web-server-01",
      "ip-10-0-1-45.ec2.internal",
      "web-frontend-deployment-7d8f9c6b5d-x4m2p",
    ]);
    expect(ticket.analysis?.entities.hosts).not.toContain("us-east-1");
    await engine.close();
  });
});
