import { createTestContext, sampleNotification } from "@runwarden/connector-testkit";
import { type Notification, type NotifierConnector, secretPaths } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import { EmailNotifierConfig, emailMessage, emailNotifier } from "../src/connector.js";
import { signApprovalLink } from "../src/link.js";

const base = {
  host: "127.0.0.1",
  from: "runwarden@example.com",
  to: ["ann@example.com"],
  linkSecret: "link-secret-for-the-tests-0123456789",
};

describe("e-mail message", () => {
  it("carries the approval's details: ticket, exact command, target, risk, expiry, who started it", () => {
    const m = emailMessage(sampleNotification, "https://rw.example/#/approval-link?channel=email&token=t.k");
    expect(m.subject).toBe("Approval needed: restart nginx on web-01");
    for (const part of [m.text, m.html]) {
      for (const fact of [
        "systemctl restart nginx",
        "web-01",
        "medium_risk",
        "2026-01-05T10:30:00.000Z",
        "alice",
        "#7",
      ])
        expect(part).toContain(fact);
    }
    expect(m.text).toContain("https://rw.example/#/approval-link?channel=email&token=t.k");
    expect(m.html).toContain('href="https://rw.example/#/approval-link?channel=email&amp;token=t.k"');
    expect(m.text).toContain(
      "Target: web-01\nRisk: medium_risk\nExpires: 2026-01-05T10:30:00.000Z\nStarted by: alice",
    );
  });

  it("escapes every value in the HTML part", () => {
    const hostile: Notification = {
      ...sampleNotification,
      title: "Approval needed: <script>alert(1)</script>",
      approval: {
        ...sampleNotification.approval!,
        renderedCommand: `echo "<b>x</b>" && rm -f '/tmp/a'`,
        target: "<img src=x>",
      },
    };
    const { html } = emailMessage(hostile, 'https://rw.example/#/x?"><script>');
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("<img");
    expect(html).toContain("echo &quot;&lt;b&gt;x&lt;/b&gt;&quot; &amp;&amp; rm -f &#39;/tmp/a&#39;");
    expect(html).toContain('href="https://rw.example/#/x?&quot;&gt;&lt;script&gt;"');
  });

  it("keeps the subject to one line", () => {
    const m = emailMessage({ ...sampleNotification, title: "a\r\nBcc: eve@example.com" });
    expect(m.subject).toBe("a Bcc: eve@example.com");
  });

  it("links a notification without an approval to its own page", () => {
    const m = emailMessage({
      event: "session.failed",
      title: "Execution #12 failed",
      text: "nginx-restart failed on web-01",
      severity: "critical",
      at: "2026-01-05T10:00:00.000Z",
      sessionId: 12,
      url: "https://rw.example/#/executions/12",
    });
    expect(m.text).toContain("Open in Runwarden:\nhttps://rw.example/#/executions/12");
    expect(m.text).toContain("Execution: #12");
  });
});

describe("e-mail notifier configuration", () => {
  it("marks the SMTP password and the link key secret", () => {
    expect(secretPaths(EmailNotifierConfig).sort()).toEqual(["auth.password", "linkSecret"]);
  });

  it("defaults to STARTTLS on 587 and refuses a short link key and a bad address", () => {
    const config = EmailNotifierConfig.parse(base);
    expect(config).toMatchObject({ port: 587, security: "starttls", linkTtlMinutes: 1_440 });
    expect(EmailNotifierConfig.safeParse({ ...base, linkSecret: "short" }).success).toBe(false);
    expect(EmailNotifierConfig.safeParse({ ...base, to: ["not an address"] }).success).toBe(false);
  });

  it("verifies the links it makes, and no other notifier's", () => {
    const ctx = createTestContext().ctx;
    const a = emailNotifier.create(EmailNotifierConfig.parse(base), ctx) as NotifierConnector;
    const b = emailNotifier.create(
      EmailNotifierConfig.parse({ ...base, linkSecret: "another-secret-of-32-characters-xx" }),
      ctx,
    ) as NotifierConnector;
    const token = signApprovalLink(base.linkSecret, {
      approvalId: 31,
      bindingHash: "h",
      recipient: "ann@example.com",
      expiresAtMs: Date.now() + 60_000,
    });
    expect(a.verifyLink!(token)).toMatchObject({
      approvalId: 31,
      bindingHash: "h",
      recipient: "ann@example.com",
    });
    expect(() => b.verifyLink!(token)).toThrow(/not valid/);
  });
});
