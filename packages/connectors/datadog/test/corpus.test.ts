/**
 * Payload corpus: Datadog webhook bodies from public projects (see corpus/SOURCES.md) and the
 * template shapes Datadog and ServiceNow document, each with the ticket fields it must give.
 */

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createEngine, isRunwardenError } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import datadog from "../src/index.js";
import { fixture, testContext, webhookRequest } from "./support.js";

const corpus = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(import.meta.dirname, "corpus", name), "utf8"));

async function parse(body: unknown) {
  const config = datadog.configSchema.parse({
    webhookAuth: { type: "header", secret: "corpus-secret-0123456789" },
  });
  const instance = await datadog.create(config, testContext());
  return instance.parseWebhook!(webhookRequest(body));
}

/** ServiceNow's documented sample template for Datadog (its "Sample payload from Datadog" page). */
const serviceNowTemplate = {
  body: "$EVENT_MSG",
  last_updated: "$LAST_UPDATED",
  event_type: "$EVENT_TYPE",
  title: "$EVENT_TITLE",
  date: "$DATE",
  org: { id: "$ORG_ID", name: "$ORG_NAME" },
  id: "$ID",
  alert_id: "$ALERT_ID",
  alert_metric: "$ALERT_METRIC",
  alert_priority: "$ALERT_PRIORITY",
  alert_transition: "$ALERT_TRANSITION",
  alert_status: "$ALERT_STATUS",
  alert_title: "$ALERT_TITLE",
  alert_type: "$ALERT_TYPE",
  host_name: "$HOSTNAME",
  priority: "$PRIORITY",
  tags: "$TAGS",
  alert_scope: "$ALERT_SCOPE",
};

/** The template with the example values Datadog's variable documentation gives. */
const serviceNowFilled = {
  ...serviceNowTemplate,
  body: "%%%\nsystem.load.1 over host:my-host was > 0 at least once during the last 1m\n%%%",
  last_updated: "1406662672000",
  event_type: "metric_alert_monitor",
  title: "[Triggered on {host:my-host}] Host is Down",
  date: "1406662672000",
  org: { id: "1234", name: "Datadog" },
  id: "1234567",
  alert_id: "1234",
  alert_metric: "system.load.1",
  alert_priority: "P2",
  alert_transition: "Triggered",
  alert_status: "system.load.1 over host:my-host was > 0 at least once during the last 1m",
  alert_title: "[Triggered on {host:my-host}] Host is Down",
  alert_type: "error",
  host_name: "my-host",
  priority: "normal",
  tags: "role:computing-node,env:prod,service:billing",
  alert_scope: "host:my-host",
};

describe("Datadog corpus", () => {
  it("Datadog's default payload (a test notification): title without prefixes, monitor id from the message link", async () => {
    const { tickets, warnings } = await parse(corpus("relay-default-payload-test-notification.json"));
    expect(warnings).toEqual(["monitor 18692904: no priority or alert type, used medium"]);
    expect(tickets[0]).toMatchObject({
      title: "[TEST] Host Cluster Alert",
      severity: "medium",
      resolved: false,
      fingerprint: "18692904",
      externalId: "18692904",
      metaData: {
        monitorId: 18692904,
        transition: "Triggered",
        eventType: "service_check",
        eventId: "5485379890863845239",
        date: "2020-06-03T20:43:05.000Z",
        org: { id: "415600", name: "Puppet" },
      },
    });
    expect(tickets[0]!.description).toMatch(/^@webhook-relay-test\n/);
    expect(tickets[0]!.description).not.toContain("%%%");
  });

  it("a custom template with transition and P1: critical, firing, monitor id from the monitors/ link", async () => {
    const { tickets, warnings } = await parse(corpus("inres-custom-template-p1.json"));
    expect(warnings).toEqual([]);
    expect(tickets[0]).toMatchObject({
      title: "High tracking",
      severity: "critical",
      resolved: false,
      fingerprint: "221164084",
      metaData: {
        monitorId: 221164084,
        transition: "Triggered",
        priority: "P1",
        eventType: "query_alert_monitor",
      },
    });
  });

  it("the shared fixture (webhookTemplate filled in): P1, scope fingerprint, tags", async () => {
    const { tickets } = await parse(fixture("datadog-webhook.json"));
    expect(tickets[0]).toMatchObject({
      title: "High CPU on web-01",
      severity: "critical",
      environment: "prod",
      service: "checkout",
      fingerprint: "148275309:host:web-01",
      metaData: { host: "web-01" },
    });
  });

  it("ServiceNow's documented template, filled with Datadog's documented example values: host_name, P2, tags", async () => {
    const { tickets, warnings } = await parse(serviceNowFilled);
    expect(warnings).toEqual([]);
    expect(tickets[0]).toMatchObject({
      title: "Host is Down",
      severity: "high",
      environment: "prod",
      service: "billing",
      fingerprint: "1234:host:my-host",
      resolved: false,
      metaData: { host: "my-host", metric: "system.load.1", priority: "P2" },
    });
    const recovered = await parse({
      ...serviceNowFilled,
      alert_transition: "Recovered",
      alert_type: "success",
      title: "[Recovered on {host:my-host}] Host is Down",
    });
    expect(recovered.tickets[0]).toMatchObject({ resolved: true, fingerprint: "1234:host:my-host" });
  });

  it("through the engine: the host tag is the detected host, a region in the text is not", async () => {
    const secret = "corpus-secret-0123456789";
    const engine = await createEngine({
      vault: { key: randomBytes(32) },
      connectors: [{ connector: datadog, config: { webhookAuth: { type: "header", secret } } }],
    });
    const body = {
      ...serviceNowFilled,
      title: "[Triggered on {host:my-host}] Latency high in us-east-1 (zone us-east-1a)",
      body: "%%%\np99 over 2 s for service billing in us-east-1\n%%%",
      tags: "env:prod,service:billing,host:ip-10-1-2-3.ec2.internal,region:us-east-1",
    };
    const result = await engine.tickets.ingestWebhook("datadog", {
      headers: { "x-runwarden-webhook-secret": secret },
      body,
      rawBody: JSON.stringify(body),
    });
    const entities = result.tickets[0]!.ticket.analysis!.entities;
    expect(entities.hosts[0]).toBe("ip-10-1-2-3.ec2.internal");
    expect(entities.hosts).not.toContain("us-east-1");
    expect(entities.hosts).not.toContain("us-east-1a");
    await engine.close();
  });

  it("the same template with nothing substituted is refused, naming title", async () => {
    try {
      await parse(serviceNowTemplate);
      throw new Error("expected a refusal");
    } catch (error) {
      expect(isRunwardenError(error)).toBe(true);
      expect((error as { details: { fields: { path: string }[] } }).details.fields[0]!.path).toBe("title");
    }
  });
});
