/**
 * The pages notifications link to, in Chromium against the example server: an e-mail's one-time
 * approval link (delivered by the e-mail notifier to a real SMTP receiving end on loopback) is
 * followed, the person signs in, approves, and the step runs; a GET of the link alone changes
 * nothing; a used or forged link is refused. And the Slack person-link page: an unlinked click is
 * answered with a link, the signed-in person confirms, and the link is made.
 */
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeQuotedPrintable,
  startSmtpReceiver,
} from "../../../packages/connectors/notify-email/test/smtp-receiver.js";
import { fakeSlack } from "../../../packages/connectors/notify-slack/test/fake-slack.js";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";
import { launchChromium } from "./fixtures/browser.js";

const chromiumPath = "/usr/bin/chromium";
const adminToken = "notification-links-admin-token-0123";
const admin = { id: "admin", roles: ["admin"] as const };
const slackToken = "xoxb-1234-5678-abcdefghijkl";
const signing = "8f742231b10e8888abcd99yyyzzz85a5";

let server: RunningServer;
let browser: Browser;
let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
let slack: Awaited<ReturnType<typeof fakeSlack>>;
let dataDir: string;

const runbook = `---\nid: mailfix\nauto_execute: true\nmatch:\n  keywords: [mailfix-outage]\n  services: [mailfix]\n---\n# mailfix\n\nFixes the mailfix-outage.\n\n## Main Steps\n- \`echo fixed-by-mail\` (name: fix, requires_approval: true, severity: medium_risk)\n\n  Restarts the mail pool.\n`;

/** A free loopback port, so the server's public URL (the links' base) is known before it starts. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function pendingApproval(n: number) {
  const { ticket } = await server.engine.tickets.ingest({
    title: `mailfix-outage number ${n}`,
    description: "mailfix-outage",
    service: "mailfix",
    environment: "prod",
    source: "test",
  });
  for (let i = 0; i < 200; i++) {
    const [session] = (await server.engine.executions.list({ ticketId: ticket.id })).items;
    if (session) {
      await server.engine.executions.settled(session.id);
      const [approval] = (await server.engine.approvals.list({ sessionId: session.id, status: "pending" }))
        .items;
      if (approval) return approval;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no pending approval");
}

/** The approval link of the e-mail about `approvalId`, once it arrived. */
async function mailedLink(approvalId: number): Promise<string> {
  for (let i = 0; i < 300; i++) {
    for (const m of smtp.messages) {
      const raw = decodeQuotedPrintable(m.raw);
      const link =
        /(http:\/\/\S+#\/approval-link\?channel=email&token=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+))/.exec(raw);
      const [payload] = (link?.[2] ?? "").split(".");
      if (link && JSON.parse(Buffer.from(payload!, "base64url").toString()).a === approvalId) return link[1]!;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no e-mail for approval ${approvalId}`);
}

/** A fresh browser context (nobody signed in) at `url`, signed in as the admin from the login form. */
async function signedInAt(url: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(url);
  await page.waitForSelector("#login:not([hidden])");
  await page.fill("#login-token", adminToken);
  await page.click("#login-form button");
  await page.waitForSelector("#shell:not([hidden])");
  return page;
}

beforeAll(async () => {
  if (!existsSync(chromiumPath))
    throw new Error(`${chromiumPath} is missing: run scripts/services/chromium.sh`);
  smtp = await startSmtpReceiver();
  slack = await fakeSlack(slackToken);
  dataDir = mkdtempSync(join(tmpdir(), "rw-links-"));
  const port = await freePort();
  server = await startServer(
    readConfig({
      PORT: String(port),
      RUNWARDEN_DATA_DIR: dataDir,
      RUNWARDEN_ADMIN_TOKEN: adminToken,
      RUNWARDEN_PUBLIC_URL: `http://127.0.0.1:${port}`,
      RUNWARDEN_NOTIFY_RULES: JSON.stringify([
        { name: "mail", channels: ["email"], events: ["approval.requested"] },
      ]),
      RUNWARDEN_CONNECTOR_CONFIG_EMAIL: JSON.stringify({
        host: "127.0.0.1",
        port: smtp.port,
        security: "none",
        from: "runwarden@example.com",
        to: ["oncall@example.com"],
        linkSecret: "link-secret-for-the-browser-test-0123",
      }),
      RUNWARDEN_CONNECTOR_CONFIG_SLACK: JSON.stringify({
        botToken: slackToken,
        signingSecret: signing,
        channel: "C0123ABCD",
        apiUrl: slack.apiUrl,
      }),
    }),
    pino({ level: "silent" }),
  );
  await server.engine.runbooks.create(runbook, { actor: admin, status: "approved" });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await smtp?.close();
  await slack?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("an e-mail's approval link", () => {
  it("a GET of the link changes nothing; followed and signed in, Approve runs the step; used again it is refused", async () => {
    const approval = await pendingApproval(1);
    const link = await mailedLink(approval.id);
    expect(link.startsWith(`${server.url}/#/approval-link?channel=email&token=`)).toBe(true);

    // Fetching the link (what a mail scanner or a preview does) is a static page: nothing changes.
    const fetched = await fetch(link);
    expect(fetched.status).toBe(200);
    await fetched.text();
    expect((await server.engine.approvals.get(approval.id)).status).toBe("pending");
    const redeemed = async () =>
      (
        await server.engine.audit.list({ objectType: "approval", objectId: String(approval.id) })
      ).items.filter((e) => e.action === "notifier.approval_link_redeemed").length;
    expect(await redeemed()).toBe(0);

    const page = await signedInAt(link);
    const card = page.locator(`[data-view="approval-link"] article.card[data-approval="${approval.id}"]`);
    await card.waitFor();
    expect(await card.locator("pre.command").textContent()).toBe("echo fixed-by-mail");
    expect(await card.textContent()).toContain(approval.target);
    // The token leaves the address bar once redeemed.
    expect(page.url()).toBe(`${server.url}/#/approval-link?approval=${approval.id}`);
    expect(await redeemed()).toBe(1);
    expect((await server.engine.approvals.get(approval.id)).status).toBe("pending");

    await card.locator('[data-action="approve"]').click();
    await page.locator('[data-view="approval-link"] [data-status="approved"]').waitFor();
    expect((await server.engine.approvals.get(approval.id)).decisions.at(-1)).toMatchObject({
      actor: "admin",
    });
    const session = await server.engine.executions.settled(approval.sessionId);
    expect(session.status).toBe("succeeded");
    const detail = (await (
      await fetch(`${server.url}/api/v1/executions/${approval.sessionId}`, {
        headers: { authorization: `Bearer ${adminToken}` },
      })
    ).json()) as { steps: unknown[] };
    // The step ran: its output is the command's.
    expect(detail.steps).toContainEqual(
      expect.objectContaining({
        name: "fix",
        status: "succeeded",
        stdout: expect.stringContaining("fixed-by-mail"),
      }),
    );

    // The same link again: refused, with a message that says why.
    const again = await signedInAt(link);
    await again.locator('[data-link="refused"]').waitFor();
    expect(await again.textContent("[data-link-error]")).toContain("already used");
    await page.context().close();
    await again.context().close();
  });

  it("refuses a forged link and changes nothing", async () => {
    const approval = await pendingApproval(2);
    const link = await mailedLink(approval.id);
    const [payload] = link.split("token=")[1]!.split(".");
    const forged = `${link.split("token=")[0]}token=${payload}.${createHmac("sha256", "guessed-key-guessed-key-guessed-key").update(payload!).digest("base64url")}`;
    const page = await signedInAt(forged);
    await page.locator('[data-link="refused"]').waitFor();
    expect(await page.textContent("[data-link-error]")).toContain("not valid");
    expect((await server.engine.approvals.get(approval.id)).status).toBe("pending");
    await page.context().close();
  });
});

describe("the e-mail notifier on the Connectors tab", () => {
  it("is listed ready, and its test button delivers a test e-mail", async () => {
    const page = await signedInAt(`${server.url}/#/connectors`);
    const card = page.locator('[data-connector-card="notifier/email"]');
    await card.waitFor();
    const before = smtp.messages.length;
    await card.locator('[data-action="test-notification"]').click();
    await expect.poll(() => smtp.messages.length).toBe(before + 1);
    const raw = decodeQuotedPrintable(smtp.messages.at(-1)!.raw);
    expect(raw).toMatch(/^X-Runwarden-Event: test\r$/m);
    expect(smtp.messages.at(-1)!.to).toEqual(["oncall@example.com"]);
    await page.context().close();
  });
});

describe("the Slack person-link page", () => {
  it("an unlinked click is answered with a link; signed in, the person confirms and is linked", async () => {
    const approval = await pendingApproval(3);
    const payload = {
      type: "block_actions",
      user: { id: "U0ANN", team_id: "T0001" },
      team: { id: "T0001" },
      container: { type: "message", channel_id: "C0123ABCD", message_ts: "1700000000.000001" },
      response_url: slack.responseUrl("U0ANN"),
      actions: [
        {
          action_id: "runwarden_approve",
          value: JSON.stringify({ id: approval.id, h: approval.bindingHash }),
        },
      ],
    };
    const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const at = String(Math.floor(Date.now() / 1000));
    const mac = createHmac("sha256", signing).update(`v0:${at}:${body}`).digest("hex");
    const res = await fetch(`${server.url}/api/v1/notifiers/slack/interactions`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": at,
        "x-slack-signature": `v0=${mac}`,
      },
      body,
    });
    expect(res.status).toBe(200);
    const answer = String(slack.ephemeral.at(-1)?.text ?? "");
    const link = /(http:\/\/\S+#\/link-notifier\?channel=slack&token=\S+?) while/.exec(answer)?.[1];
    expect(link).toBeDefined();
    // The click decided nothing.
    expect((await server.engine.approvals.get(approval.id)).status).toBe("pending");

    const page = await signedInAt(link!);
    await page.locator('[data-view="link-notifier"]').waitFor();
    expect(await page.textContent('[data-view="link-notifier"]')).toContain("recorded as admin");
    await page.click('[data-action="link"]');
    await page.locator("[data-linked]").waitFor();
    expect(await page.getAttribute("[data-linked]", "data-linked")).toBe("T0001:U0ANN");
    expect(await server.engine.storage.getValue("notify:slack:person:T0001:U0ANN")).toContain('"admin"');

    // The link works once.
    const again = await signedInAt(link!);
    await again.click('[data-action="link"]');
    await again.locator("[data-link-error]").waitFor();
    expect(await again.textContent("[data-link-error]")).toContain("invalid, used or expired");
    await page.context().close();
    await again.context().close();
  });
});
