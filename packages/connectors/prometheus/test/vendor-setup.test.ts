import { createEngine } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import prometheus from "../src/index.js";

const where = {
  webhookUrl: "https://rw.example/api/v1/tickets/webhook/prometheus",
  baseUrl: "https://rw.example",
};

describe("Prometheus vendor set-up", () => {
  it("gives an Alertmanager receiver with the webhook URL and a bearer token placeholder", () => {
    const steps = prometheus.vendorSetup!(where);
    const receiver = steps[0]!.snippet!;
    expect(receiver.language).toBe("yaml");
    expect(receiver.content).toContain(`url: "${where.webhookUrl}"`);
    expect(receiver.content).toMatch(
      /http_config:\n {10}authorization:\n {12}type: Bearer\n {12}credentials: "<webhook token>"/,
    );
    expect(receiver.content).toContain("send_resolved: true");
    expect(steps[1]!.snippet!.content).toContain("receiver: runwarden");
  });

  it("writes a generated token into the receiver when it is given", () => {
    const [receiver] = prometheus.vendorSetup!({ ...where, webhookSecret: "abc_DEF-123" });
    expect(receiver!.snippet!.content).toContain('credentials: "abc_DEF-123"');
  });

  it("has a sample webhook its own parser turns into a ticket", async () => {
    const engine = await createEngine({
      connectors: [{ connector: prometheus, config: { webhookAuth: { type: "none" } } }],
    });
    const sample = prometheus.sampleWebhook!();
    const parsed = await engine.connectors.monitoring("prometheus").parseWebhook!({
      headers: {},
      body: sample.body,
      rawBody: JSON.stringify(sample.body),
    });
    expect(parsed.tickets).toHaveLength(1);
    expect(parsed.tickets[0]!.title).toContain("Test alert");
    await engine.close();
  });
});
