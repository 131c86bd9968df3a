/**
 * The e-mail notifier against a real SMTP receiving end on loopback (the smtp-server package):
 * the delivered message read raw, its signed link, AUTH, STARTTLS required, refusals.
 */
import { createTestContext, sampleNotification, testNotifier } from "@runwarden/connector-testkit";
import type { Notification, NotifierConnector } from "@runwarden/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmailNotifierConfig, emailNotifier } from "../src/connector.js";
import { decodeQuotedPrintable, startSmtpReceiver } from "./smtp-receiver.js";

const password = "smtp-password-for-the-tests";
const linkSecret = "link-secret-for-the-tests-0123456789";
let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
let plain: Awaited<ReturnType<typeof startSmtpReceiver>>;
beforeAll(async () => {
  smtp = await startSmtpReceiver({ auth: { user: "runwarden", password }, refuse: ["gone@example.com"] });
  plain = await startSmtpReceiver();
});
afterAll(async () => {
  await smtp?.close();
  await plain?.close();
});

const config = (extra: Record<string, unknown> = {}) => ({
  host: "127.0.0.1",
  port: smtp.port,
  security: "none" as const,
  auth: { user: "runwarden", password },
  from: '"Runwarden" <runwarden@example.com>',
  to: ["ann@example.com"],
  linkSecret,
  ...extra,
});
const notifier = (extra: Record<string, unknown> = {}) =>
  emailNotifier.create(
    EmailNotifierConfig.parse(config(extra)),
    createTestContext().ctx,
  ) as NotifierConnector;
// An approval that expires in 30 minutes (the sample's expiry is in the past).
const expiresAt = new Date(Math.ceil(Date.now() / 1_000) * 1_000 + 30 * 60_000).toISOString();
const pending = { ...sampleNotification, approval: { ...sampleNotification.approval!, expiresAt } };
const send = (n: NotifierConnector, key: string, notification: Notification = pending) =>
  n.send(notification, { idempotencyKey: key, signal: AbortSignal.timeout(10_000) });

testNotifier(emailNotifier, {
  config: () => config(),
  failingConfig: () => config({ auth: { user: "runwarden", password: "wrong-password" } }),
  received: () => smtp.messages.map((m) => decodeQuotedPrintable(m.raw)),
});

describe("e-mail notifier over SMTP", () => {
  it("delivers text and HTML with the approval's details and a signed link to the approval page", async () => {
    const before = smtp.messages.length;
    const n = notifier({ dashboardUrl: "https://rw.example" });
    await send(n, "k-details");
    expect(smtp.messages.length).toBe(before + 1);
    const got = smtp.messages.at(-1)!;
    expect(got.from).toBe("runwarden@example.com");
    expect(got.to).toEqual(["ann@example.com"]);
    const raw = decodeQuotedPrintable(got.raw);
    expect(raw).toMatch(/^Subject: Approval needed: restart nginx on web-01\r$/m);
    expect(raw).toMatch(/^X-Runwarden-Delivery: k-details\r$/m);
    expect(raw).toContain("Content-Type: text/plain");
    expect(raw).toContain("Content-Type: text/html");
    expect(raw).toContain("systemctl restart nginx");
    expect(raw).toContain("Started by: alice");
    const token =
      /https:\/\/rw\.example\/#\/approval-link\?channel=email&token=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/.exec(
        raw,
      )?.[1];
    expect(token).toBeDefined();
    expect(n.verifyLink!(token!)).toMatchObject({
      approvalId: 31,
      bindingHash: "b".repeat(64),
      recipient: "ann@example.com",
      // The link ends with the approval (sooner than the 24-hour cap).
      expiresAt,
    });
    expect(smtp.logins.at(-1)).toBe("runwarden");
  });

  it("sends one message per recipient, each with its own link, and the same Message-ID on a retry", async () => {
    const before = smtp.messages.length;
    const n = notifier({ to: ["ann@example.com", "bob@example.com"] });
    await send(n, "k-two");
    await send(n, "k-two");
    const four = smtp.messages.slice(before).map((m) => ({ to: m.to, raw: decodeQuotedPrintable(m.raw) }));
    expect(four.map((m) => m.to[0])).toEqual([
      "ann@example.com",
      "bob@example.com",
      "ann@example.com",
      "bob@example.com",
    ]);
    const ids = four.map((m) => /^Message-ID: (<[^>]+>)\r$/im.exec(m.raw)?.[1]);
    expect(ids[0]).toBe(ids[2]);
    expect(ids[1]).toBe(ids[3]);
    expect(ids[0]).not.toBe(ids[1]);
    const tokens = four.map((m) => /token=([A-Za-z0-9_.-]+)/.exec(m.raw)?.[1]);
    expect(new Set(tokens).size).toBe(4);
    expect(n.verifyLink!(tokens[1]!).recipient).toBe("bob@example.com");
  });

  it("sends an escalation to its audience's recipients", async () => {
    const before = smtp.messages.length;
    const n = notifier({ audiences: { "db-oncall": ["dba@example.com"] } });
    await send(n, "k-aud", { ...pending, event: "approval.escalated", audience: "db-oncall" });
    expect(smtp.messages.slice(before).map((m) => m.to)).toEqual([["dba@example.com"]]);
  });

  it("puts no decision link in an 'expired' notice", async () => {
    const n = notifier();
    await send(n, "k-expired", {
      ...sampleNotification,
      event: "approval.expired",
      title: "Approval expired: restart",
    });
    const raw = decodeQuotedPrintable(smtp.messages.at(-1)!.raw);
    expect(raw).not.toContain("approval-link");
    expect(raw).toContain("https://runwarden.example/approvals/31");
  });

  it("refuses a wrong password as RW_ERR_CONNECTOR_AUTH without the password", async () => {
    const err = await send(
      notifier({ auth: { user: "runwarden", password: "wrong-password-123" } }),
      "k-auth",
    ).catch((e: { code: string; message: string; details?: unknown }) => e);
    expect(err).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH" });
    expect(JSON.stringify(err)).not.toContain("wrong-password-123");
    expect(String((err as Error).message)).not.toContain("wrong-password-123");
  });

  it("dead-letters a recipient the server refuses with 550", async () => {
    const err = await send(notifier({ to: ["gone@example.com"] }), "k-550").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "RW_ERR_CONNECTOR_REJECTED", details: { smtpCode: 550 } });
  });

  it("with STARTTLS required sends nothing to a server that does not offer it", async () => {
    const before = plain.messages.length;
    const n = emailNotifier.create(
      EmailNotifierConfig.parse({
        host: "127.0.0.1",
        port: plain.port,
        from: "rw@example.com",
        to: ["a@example.com"],
        linkSecret,
      }),
      createTestContext().ctx,
    ) as NotifierConnector;
    const err = await send(n, "k-tls").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: expect.stringMatching(/^RW_ERR_CONNECTOR_/) });
    expect(plain.messages.length).toBe(before);
  });

  it("retries an unreachable server", async () => {
    const n = notifier({ port: 1, timeoutMs: 2_000 });
    const err = await send(n, "k-down").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "RW_ERR_CONNECTOR_UNREACHABLE", retryable: true });
  });
});
