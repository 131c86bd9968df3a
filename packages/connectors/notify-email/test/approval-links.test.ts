/**
 * `POST /notifiers/email/approval-links` through the HTTP adapter with a real engine: the link an
 * e-mail carried (delivered to an SMTP receiver on loopback) is redeemed once and decides nothing;
 * expired, out-of-date and unauthenticated redeems are refused and change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approvalRunbook, type Harness, setup } from "../../../http-adapter/test/helpers.js";
import { emailNotifier } from "../src/connector.js";
import { signApprovalLink } from "../src/link.js";
import { decodeQuotedPrintable, startSmtpReceiver } from "./smtp-receiver.js";

const linkSecret = "link-secret-for-the-route-tests-01234";
let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
let h: Harness;
let runbookId: number;

beforeAll(async () => {
  smtp = await startSmtpReceiver();
  h = await setup({
    engine: {
      connectors: [
        {
          connector: emailNotifier,
          config: {
            host: "127.0.0.1",
            port: smtp.port,
            security: "none",
            from: "runwarden@example.com",
            to: ["ann@example.com"],
            linkSecret,
          },
        },
      ],
      notifications: {
        rules: [{ name: "mail", channels: ["email"], events: ["approval.requested"] }],
        dashboardUrl: "https://rw.example",
        manual: true,
      },
    },
  });
  runbookId = (await h.json("POST", "/runbooks", { json: { markdown: approvalRunbook } })).body.runbook.id;
  await h.json("POST", `/runbooks/${runbookId}/approve`);
});
afterAll(async () => {
  await h?.close();
  await smtp?.close();
});

async function pendingApproval(title: string) {
  const t = await h.json("POST", "/tickets/demo/ticket?auto_execute=false", {
    json: { title, service: "nginx" },
  });
  const s = await h.json("POST", "/executions", {
    token: h.tokens.operator,
    json: { ticket_id: t.body.ticket.id, runbook_id: runbookId },
  });
  await h.engine.executions.settled(s.body.session.id);
  const pending = await h.json("GET", `/approvals?status=pending&session_id=${s.body.session.id}`);
  await h.engine.notifications!.settled();
  await h.engine.notifications!.flush();
  return pending.body.items[0] as { id: number; binding_hash: string; expires_at: string };
}

const redeem = (token: string, as: string | null) =>
  h.json("POST", "/notifiers/email/approval-links", { token: as, json: { token } });

describe("redeeming an e-mail's approval link", () => {
  it("redeems the mailed link once for a signed-in person, and decides nothing", async () => {
    const approval = await pendingApproval("Disk full on mail-1");
    const raw = decodeQuotedPrintable(smtp.messages.at(-1)!.raw);
    const token = /approval-link\?channel=email&token=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/.exec(raw)![1]!;

    const first = await redeem(token, h.tokens.viewer);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      channel: "email",
      approval_id: approval.id,
      recipient: "ann@example.com",
    });
    expect((await h.json("GET", `/approvals/${approval.id}`)).body.status).toBe("pending");
    // The link grants no role: a viewer who redeemed it still cannot approve.
    const viewerApproves = await h.json("POST", `/approvals/${approval.id}/approve`, {
      token: h.tokens.viewer,
      json: {},
    });
    expect(viewerApproves.status).toBe(403);

    const second = await redeem(token, h.tokens.approver);
    expect(second.status).toBe(422);
    expect(second.body.error).toMatchObject({ code: "RW_ERR_INPUT_INVALID", details: { reason: "used" } });
    expect(second.body.error.message).toContain("already used");
    const audit = await h.engine.audit.list({ objectType: "approval", objectId: String(approval.id) });
    expect(audit.items.filter((e) => e.action === "notifier.approval_link_redeemed")).toHaveLength(1);
  });

  it("refuses an expired link, saying when it expired", async () => {
    const approval = await pendingApproval("Disk full on mail-2");
    const token = signApprovalLink(linkSecret, {
      approvalId: approval.id,
      bindingHash: approval.binding_hash,
      recipient: "ann@example.com",
      expiresAtMs: Date.now() - 1_000,
    });
    const res = await redeem(token, h.tokens.approver);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ details: { reason: "expired" } });
    expect(res.body.error.message).toContain("expired at");
  });

  it("refuses a link to a step whose binding hash changed, and records nothing", async () => {
    const approval = await pendingApproval("Disk full on mail-3");
    const link = {
      approvalId: approval.id,
      recipient: "ann@example.com",
      expiresAtMs: Date.now() + 60_000,
      nonce: "same-nonce-for-both-links",
    };
    const stale = await redeem(
      signApprovalLink(linkSecret, { ...link, bindingHash: "0".repeat(64) }),
      h.tokens.approver,
    );
    expect(stale.status).toBe(422);
    expect(stale.body.error).toMatchObject({ details: { reason: "stale" } });
    // The refusal consumed nothing: the same nonce with the right hash still redeems.
    const good = await redeem(
      signApprovalLink(linkSecret, { ...link, bindingHash: approval.binding_hash }),
      h.tokens.approver,
    );
    expect(good.status).toBe(200);
  });

  it("refuses a redeem without a signed-in person, and a forged token", async () => {
    const approval = await pendingApproval("Disk full on mail-4");
    const token = signApprovalLink(linkSecret, {
      approvalId: approval.id,
      bindingHash: approval.binding_hash,
      recipient: "ann@example.com",
      expiresAtMs: Date.now() + 60_000,
    });
    expect((await redeem(token, null)).status).toBe(401);
    const forged = await redeem(
      signApprovalLink("not-the-link-secret-not-the-link-secret", {
        approvalId: approval.id,
        bindingHash: approval.binding_hash,
        recipient: "eve@example.com",
        expiresAtMs: Date.now() + 60_000,
      }),
      h.tokens.approver,
    );
    expect(forged.status).toBe(422);
    expect(forged.body.error).toMatchObject({ details: { reason: "forged" } });
    // Still usable by its owner after the refusals around it.
    expect((await redeem(token, h.tokens.approver)).status).toBe(200);
  });
});
