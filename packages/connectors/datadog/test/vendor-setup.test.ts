import { createEngine } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import datadog, { webhookTemplate } from "../src/index.js";

const where = {
  webhookUrl: "https://rw.example/api/v1/tickets/webhook/datadog",
  baseUrl: "https://rw.example",
};

describe("Datadog vendor set-up", () => {
  it("gives the hidden variable, the custom header, the payload template and the @-mention", () => {
    const steps = datadog.vendorSetup!(where);
    expect(steps.map((s) => s.title)).toHaveLength(4);
    expect(steps[0]!.snippet!.content).toBe("RUNWARDEN_SECRET = <webhook secret>\n");
    expect(steps[1]!.text).toContain(where.webhookUrl);
    expect(JSON.parse(steps[1]!.snippet!.content)).toEqual({
      "X-Runwarden-Webhook-Secret": "$RUNWARDEN_SECRET",
    });
    expect(JSON.parse(steps[2]!.snippet!.content)).toEqual(webhookTemplate);
    expect(steps[3]!.text).toContain("@webhook-runwarden");
    expect(datadog.vendorSetup!({ ...where, webhookSecret: "s3cr3t" })[0]!.snippet!.content).toContain(
      "s3cr3t",
    );
  });

  it("has a sample webhook its own parser turns into a ticket", async () => {
    const engine = await createEngine({
      connectors: [{ connector: datadog, config: { webhookAuth: { type: "none" } } }],
    });
    const sample = datadog.sampleWebhook!();
    const parsed = await engine.connectors.monitoring("datadog").parseWebhook!({
      headers: {},
      body: sample.body,
      rawBody: JSON.stringify(sample.body),
    });
    expect(parsed.tickets).toHaveLength(1);
    expect(parsed.tickets[0]!.title).toContain("High CPU on web-01");
    await engine.close();
  });
});
