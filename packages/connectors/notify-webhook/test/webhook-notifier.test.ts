import { createTestContext, sampleNotification, testNotifier } from "@runwarden/connector-testkit";
import { createEngine, createMemoryStorage, isRunwardenError, type NotifierConnector } from "@runwarden/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newApproval, newSession, newTicket } from "../../../core/test/storage/fixtures.js";
import { signWebhook, verifyWebhookSignature, webhookNotifier } from "../src/index.js";
import { startReceiver } from "./receiver.js";

const SECRET = "whsec-runwarden-test-0123456789";
let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  receiver = await startReceiver(SECRET);
});
afterAll(() => receiver.close());

testNotifier(webhookNotifier, {
  config: () => ({ url: receiver.url, secret: SECRET }),
  failingConfig: () => ({ url: receiver.url, secret: "not-the-receivers-secret-42" }),
  received: () => receiver.accepted.map((r) => r.body),
});

function instance(secret = SECRET): NotifierConnector {
  const config = webhookNotifier.configSchema.parse({ url: receiver.url, secret });
  return webhookNotifier.create(config, createTestContext().ctx) as NotifierConnector;
}
const send = (n: NotifierConnector, key = "k1") =>
  n.send(sampleNotification, { idempotencyKey: key, signal: AbortSignal.timeout(5_000) }).then(
    () => undefined,
    (err: unknown) => err,
  );

describe("webhook notifier", () => {
  it("POSTs the event's JSON signed with X-Runwarden-Signature over the timestamp and the exact body", async () => {
    const before = receiver.accepted.length;
    expect(await send(instance(), "notify:hook:7:approval.requested:31:0")).toBeUndefined();
    const got = receiver.accepted[before]!;
    expect(got.headers["x-runwarden-event"]).toBe("approval.requested");
    expect(got.headers["x-runwarden-delivery"]).toBe("notify:hook:7:approval.requested:31:0");
    const body = JSON.parse(got.body);
    expect(body).toMatchObject({
      event: "approval.requested",
      delivery_id: "notify:hook:7:approval.requested:31:0",
      approval: {
        id: 31,
        rendered_command: "systemctl restart nginx",
        target: "web-01",
        risk: "medium_risk",
      },
    });
    const header = String(got.headers["x-runwarden-signature"]);
    const now = Math.floor(Date.now() / 1000);
    expect(verifyWebhookSignature(SECRET, header, got.body, now)).toBe(true);
    expect(verifyWebhookSignature(SECRET, header, got.body.replace("nginx", "nginX"), now)).toBe(false);
    expect(verifyWebhookSignature("another-secret-entirely", header, got.body, now)).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, got.body, now + 301)).toBe(false);
    expect(verifyWebhookSignature(SECRET, undefined, got.body, now)).toBe(false);
  });

  it("signs as documented: t=<seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>", () => {
    // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
    expect(signWebhook("key", '{"a":1}', 1_700_000_000)).toBe(
      "t=1700000000,v1=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03",
    );
  });

  it("maps the receiver's answers onto connector codes the outbox retries or dead-letters", async () => {
    const n = instance();
    receiver.reply(503);
    const down = await send(n);
    expect(isRunwardenError(down) && [down.code, down.retryable]).toEqual([
      "RW_ERR_CONNECTOR_UNREACHABLE",
      true,
    ]);
    receiver.reply(429, { "retry-after": "7" });
    const slow = await send(n);
    expect(isRunwardenError(slow) && [slow.code, slow.details?.retryAfterMs]).toEqual([
      "RW_ERR_CONNECTOR_RATE_LIMITED",
      7_000,
    ]);
    receiver.reply(400);
    const bad = await send(n);
    expect(isRunwardenError(bad) && [bad.code, bad.retryable]).toEqual(["RW_ERR_CONNECTOR_REJECTED", false]);
    receiver.reply(302, { location: "http://169.254.169.254/" });
    const moved = await send(n);
    expect(isRunwardenError(moved) && moved.code).toBe("RW_ERR_CONNECTOR_REJECTED");
    const refused = await send(instance("a-wrong-secret-of-16+"));
    expect(isRunwardenError(refused) && refused.code).toBe("RW_ERR_CONNECTOR_AUTH");
    expect(String((refused as Error).message)).not.toContain("a-wrong-secret");
  });

  it("refuses a config with a short secret or a non-http URL, naming the field and not the value", () => {
    const short = webhookNotifier.configSchema.safeParse({ url: receiver.url, secret: "short" });
    expect(short.success).toBe(false);
    const ftp = webhookNotifier.configSchema.safeParse({ url: "ftp://x.example/", secret: SECRET });
    expect(ftp.success).toBe(false);
    expect(JSON.stringify(ftp.error?.issues)).not.toContain(SECRET);
  });

  it("through the engine: an approval request reaches the receiver once, signed, and shows on the timeline", async () => {
    const engine = await createEngine({
      storage: createMemoryStorage(),
      connectors: [{ connector: webhookNotifier, config: { url: receiver.url, secret: SECRET } }],
      notifications: {
        rules: [{ name: "all-prod", environments: ["prod"], channels: ["webhook"] }],
        manual: true,
      },
    });
    await engine.start();
    try {
      const ticket = await engine.storage.tickets.insert(newTicket({ environment: "prod" }));
      const session = await engine.storage.sessions.insert(
        newSession({ ticketId: ticket.id, fingerprint: "fp-e" }),
      );
      const approval = await engine.storage.approvals.insert(
        newApproval({ ticketId: ticket.id, sessionId: session.id, environment: "prod" }),
      );
      const before = receiver.accepted.length;
      const event = {
        approvalId: approval.id,
        sessionId: session.id,
        stepId: 1,
        ticketId: ticket.id,
        risk: "medium_risk",
      };
      engine.events.emit("approval:requested", event);
      engine.events.emit("approval:requested", event);
      expect(await engine.notifications!.flush()).toBe(1);
      expect(receiver.accepted.length - before).toBe(1);
      const audit = await engine.storage.audit.find({
        where: { objectType: "session", objectId: String(session.id) },
      });
      expect(audit.map((a) => [a.action, a.details.channel])).toEqual([["notification.sent", "webhook"]]);
    } finally {
      await engine.close();
    }
  });
});
