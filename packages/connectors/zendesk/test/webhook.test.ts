import { readFileSync } from "node:fs";
import { createTestContext, testMonitoringWebhooks } from "@runwarden/connector-testkit";
import type { MonitoringConnector, WebhookRequest } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import { zendeskSignature, zendeskWebhook } from "../src/index.js";

const SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";
const NOW = Date.parse("2025-05-14T09:15:30Z");
const sample = JSON.parse(
  readFileSync(new URL("./fixtures/zendesk-webhook-event.json", import.meta.url), "utf8"),
) as Record<string, unknown> & { detail: Record<string, unknown>; event: Record<string, unknown> };

function signed(body: unknown, at = "2025-05-14T09:15:10Z", secret = SECRET): WebhookRequest {
  const rawBody = JSON.stringify(body);
  return {
    headers: {
      "x-zendesk-webhook-signature": zendeskSignature(secret, at, rawBody),
      "x-zendesk-webhook-signature-timestamp": at,
      "content-type": "application/json",
    },
    body,
    rawBody,
  };
}

async function instance(config: Record<string, unknown> = {}): Promise<MonitoringConnector> {
  return zendeskWebhook.create(
    zendeskWebhook.configSchema.parse({
      subdomain: "acme",
      auth: { type: "token", email: "runwarden@acme.example", token: "t0ken" },
      webhookSecret: SECRET,
      ...config,
    }),
    createTestContext({ now: () => new Date(NOW) }).ctx,
  ) as MonitoringConnector;
}

const created = {
  ...sample,
  type: "zen:event-type:ticket.created",
  detail: { ...sample.detail, external_id: null, status: "New", priority: "High" },
  event: {},
};

describe("verifyWebhook", () => {
  it("accepts Zendesk's signature: base64 HMAC-SHA256 of the timestamp followed by the raw body", async () => {
    const request = signed(sample);
    const { createHmac } = await import("node:crypto");
    const expected = createHmac("sha256", SECRET)
      .update(`2025-05-14T09:15:10Z${request.rawBody}`)
      .digest("base64");
    expect(request.headers["x-zendesk-webhook-signature"]).toBe(expected);
    expect(await (await instance()).verifyWebhook!(request)).toBe(true);
  });

  it("refuses a wrong secret, a changed body, a missing header, an old timestamp, and any request without a configured secret", async () => {
    const zd = await instance();
    const tampered = { ...signed(sample), rawBody: JSON.stringify({ ...sample, id: "other" }) };
    const { "x-zendesk-webhook-signature": _, ...unsigned } = signed(sample).headers;
    expect(await zd.verifyWebhook!(signed(sample, undefined, "another-secret-of-some-length"))).toBe(false);
    expect(await zd.verifyWebhook!(tampered)).toBe(false);
    expect(await zd.verifyWebhook!({ ...signed(sample), headers: unsigned })).toBe(false);
    expect(await zd.verifyWebhook!(signed(sample, "2025-05-14T08:00:00Z"))).toBe(false);
    expect(await zd.verifyWebhook!(signed(sample, "not a time"))).toBe(false);
    expect(await (await instance({ webhookSecret: undefined })).verifyWebhook!(signed(sample))).toBe(false);
  });
});

describe("parseWebhook", () => {
  it("turns a ticket.created event into a ticket of source zendesk keyed by the ticket id, enums lower-cased", async () => {
    const parsed = await (await instance()).parseWebhook!(signed(created));
    expect(parsed.tickets).toEqual([
      {
        title: "High CPU on web-01",
        description: "Datadog monitor 148275309 triggered.",
        severity: "high",
        source: "zendesk",
        externalId: "35436",
        resolved: false,
        metaData: expect.objectContaining({
          zendeskId: 35436,
          url: "https://acme.zendesk.com/agent/tickets/35436",
          status: "new",
          priority: "high",
          type: "incident",
          groupId: 98738,
          event: "zen:event-type:ticket.created",
        }),
      },
    ]);
  });

  it("resolves on a status change to solved, reading the event's current status", async () => {
    const solved = {
      ...sample,
      detail: { ...sample.detail, external_id: null },
      event: { current: "Solved", previous: "Open" },
    };
    const parsed = await (await instance()).parseWebhook!(signed(solved));
    expect(parsed.tickets[0]).toMatchObject({
      externalId: "35436",
      resolved: true,
      metaData: { status: "solved" },
    });
  });

  it("skips tickets Runwarden opened itself and tickets outside the configured groups and tags", async () => {
    const own = { ...created, detail: { ...created.detail, external_id: "zendesk:12:create" } };
    expect((await (await instance()).parseWebhook!(signed(own))).tickets).toEqual([]);
    const elsewhere = await (await instance({ pull: { groupIds: [1] } })).parseWebhook!(signed(created));
    expect(elsewhere.tickets).toEqual([]);
    const tagged = await (await instance({ pull: { tags: ["datadog"] } })).parseWebhook!(signed(created));
    expect(tagged.tickets).toHaveLength(1);
  });

  it("refuses events that are not ticket events with an input code", async () => {
    await expect(
      (await instance()).parseWebhook!(signed({ ...sample, type: "zen:event-type:user.created" })),
    ).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
  });
});

testMonitoringWebhooks(zendeskWebhook, {
  config: {
    subdomain: "acme",
    auth: { type: "token", email: "runwarden@acme.example", token: "t0ken" },
    webhookSecret: SECRET,
    webhookToleranceMs: 100 * 365 * 24 * 3_600_000,
  },
  samples: [signed(created), signed(sample)],
});

describe("vendorSetup", () => {
  it("tells the admin where Zendesk must send its webhook and where the signing secret goes", () => {
    const steps = zendeskWebhook.vendorSetup!({
      webhookUrl: "https://runwarden.example/api/v1/tickets/webhook/zendesk",
      baseUrl: "https://runwarden.example",
    });
    expect(steps[0]!.snippet).toEqual({
      language: "text",
      content: "https://runwarden.example/api/v1/tickets/webhook/zendesk",
    });
    expect(steps.map((s) => s.text).join(" ")).toContain("webhookSecret");
  });
});
