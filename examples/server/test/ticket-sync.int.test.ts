/**
 * Two-way ticket sync end to end, through the example server, for each ticketing tool with a
 * fake that speaks its documented API (Zendesk, ServiceNow): a ticket opened in the tool is pulled
 * in, its runbook runs to an approval that is approved in the dashboard (Chromium), the approvals
 * and the outcome are written back as notes and a status, and a restart in the middle — while the
 * tool is failing, so writes are waiting in the outbox — loses and duplicates nothing. The
 * ticket's detail page shows the remote link, the notes written back and the state it was left in.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FakeServiceNow,
  fakeServiceNow,
} from "../../../packages/connectors/servicenow/test/fake-servicenow.js";
import { type FakeZendesk, fakeZendesk } from "../../../packages/connectors/zendesk/test/fake-zendesk.js";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";
import { launchChromium } from "./fixtures/browser.js";

const chromiumPath = "/usr/bin/chromium";
const adminToken = "ticket-sync-test-admin-token-0123";
const title = "Disk full on web-7: no space left on device";
const description = "Filesystem / at 100% on web-7 (service nginx, prod). ENOSPC in the nginx error log.";

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `${chromiumPath} is missing: run scripts/services/chromium.sh (Debian's chromium package)`,
    );
  }
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

/** One ticketing tool under test: its fake, how to seed and read it, and the server's configuration. */
interface Vendor {
  name: "zendesk" | "servicenow";
  config(): Record<string, unknown>;
  /** Opens a ticket in the tool, as a person would; returns its id. */
  seed(): string;
  /** The notes on the remote ticket, oldest first. */
  notes(id: string): string[];
  /** The remote ticket's status field. */
  status(id: string): string;
  /** How many tickets the tool holds. */
  count(): number;
  /** Make every call fail (503) or answer again. */
  outage(on: boolean): void;
  /** The tool's status for a solved ticket. */
  solved: string;
  close(): Promise<void>;
}

async function zendeskVendor(): Promise<Vendor> {
  const email = "runwarden@acme.example";
  const token = "zendesk-e2e-api-token-48c1d0";
  const fake: FakeZendesk = await fakeZendesk({ auth: "token", email, token });
  fake.clock.now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const ticket = (id: string) => fake.tickets.find((t) => String(t.id) === id)!;
  return {
    name: "zendesk",
    config: () => ({ url: fake.url, auth: { type: "token", email, token } }),
    seed: () => String(fake.open({ subject: title, description, priority: "high", tags: ["ops"] }).id),
    notes: (id) =>
      ticket(id)
        .comments.filter((c) => !c.public)
        .map((c) => c.body),
    status: (id) => ticket(id).status,
    count: () => fake.tickets.length,
    outage: (on) => fake.failNext(on ? 100_000 : 0, { status: 503, body: { error: "ServiceUnavailable" } }),
    solved: "solved",
    close: () => fake.close(),
  };
}

async function serviceNowVendor(): Promise<Vendor> {
  const user = "runwarden.integration";
  const password = "servicenow-e2e-password-9f2";
  const fake: FakeServiceNow = await fakeServiceNow({ auth: "basic", user, password });
  const now = new Date().toISOString().slice(0, 19).replace("T", " ");
  fake.clock.now = now;
  const incident = (id: string) => fake.incidents.find((i) => i.sys_id === id)!;
  return {
    name: "servicenow",
    config: () => ({ instanceUrl: fake.url, auth: { type: "basic", username: user, password } }),
    seed: () => {
      const sysId = "0123456789abcdef0123456789abcdef";
      fake.incidents.push({
        sys_id: sysId,
        number: "INC0010099",
        short_description: title,
        description,
        state: "1",
        impact: "1",
        urgency: "2",
        priority: "2",
        assignment_group: "",
        correlation_id: "",
        correlation_display: "",
        close_code: "",
        close_notes: "",
        sys_created_on: now,
        sys_updated_on: now,
      });
      return sysId;
    },
    notes: (id) =>
      fake.journal.filter((j) => j.element_id === id && j.element === "work_notes").map((j) => j.value),
    status: (id) => incident(id).state,
    count: () => fake.incidents.length,
    outage: (on) =>
      fake.failNext(on ? 100_000 : 0, {
        status: 503,
        body: { error: { message: "Service Unavailable" }, status: "failure" },
      }),
    solved: "6",
    close: () => fake.close(),
  };
}

async function start(vendor: Vendor, dataDir: string): Promise<RunningServer> {
  const variable = `RUNWARDEN_CONNECTOR_CONFIG_${vendor.name.toUpperCase()}`;
  return startServer(
    readConfig({
      PORT: "0",
      RUNWARDEN_DATA_DIR: dataDir,
      RUNWARDEN_ADMIN_TOKEN: adminToken,
      RUNWARDEN_TICKET_SYNC_POLL_MS: "300",
      [variable]: JSON.stringify(vendor.config()),
    }),
    pino({ level: "silent" }),
  );
}

async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.waitForSelector("#login-form");
  await page.fill("#login-token", adminToken);
  await page.click("#login-form button");
  await page.waitForSelector("#shell:not([hidden])");
}

/** Approves, in the dashboard, the first pending approval of `sessionId`; returns false when there is none. */
async function approveOne(page: Page, url: string, sessionId: number, comment: string): Promise<boolean> {
  await page.goto(`${url}/#/approvals`);
  const card = page
    .locator(`#approval-cards [data-approval]:has(a[href="#/executions/${sessionId}"])`)
    .first();
  const approvalId = await card.getAttribute("data-approval", { timeout: 10_000 }).catch(() => null);
  if (!approvalId) return false;
  await card.locator("textarea").fill(comment);
  await card.locator('[data-action="approve"]').click();
  await page.waitForSelector(`[data-approval="${approvalId}"]`, { state: "detached" });
  return true;
}

/** Waits until the session stops running (awaiting an approval, or finished). */
async function settled(server: RunningServer, sessionId: number): Promise<string> {
  await server.engine.executions.settled(sessionId, { timeoutMs: 30_000 });
  return (await server.engine.executions.get(sessionId)).session.status;
}

async function outbox(server: RunningServer, ticketId: number) {
  return server.engine.storage.outbox.find({ where: { ticketId }, order: "asc", limit: 500 });
}

for (const make of [zendeskVendor, serviceNowVendor]) {
  describe(`ticket sync end to end: ${make === zendeskVendor ? "zendesk" : "servicenow"}`, () => {
    let vendor: Vendor;
    let dataDir: string;
    let server: RunningServer | undefined;
    let page: Page;

    beforeAll(async () => {
      vendor = await make();
      dataDir = mkdtempSync(join(tmpdir(), `rw-sync-${vendor.name}-`));
      page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    });

    afterAll(async () => {
      await page?.close();
      await server?.close();
      await vendor?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it("pulls the remote ticket in, is approved in the dashboard, writes the outcome back, and a restart loses and duplicates nothing", async () => {
      const remoteId = vendor.seed();
      server = await start(vendor, dataDir);
      const url = server.url;

      // Pulled in by the sync's inbound poll.
      const pulled = async () =>
        (await server!.engine.tickets.list({ source: vendor.name, limit: 10 })).items.filter(
          (t) => t.externalId === remoteId,
        );
      await expect.poll(async () => (await pulled()).length, { timeout: 20_000 }).toBe(1);
      const ticket = (await pulled())[0]!;

      // The runbook runs (auto-executed when the analysis says so, else started here) to its first approval.
      const sessionOf = async () =>
        (await server!.engine.executions.list({ ticketId: ticket.id, limit: 10 })).items.find(
          (s) => s.ticketId === ticket.id,
        );
      await expect
        .poll(async () => (await server!.engine.tickets.get(ticket.id)).status, { timeout: 20_000 })
        .not.toBe("new");
      if (!(await sessionOf())) {
        const res = await fetch(`${url}/api/v1/executions`, {
          method: "POST",
          headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
          body: JSON.stringify({ ticket_id: ticket.id, runbook_id: "disk-space-cleanup" }),
        });
        expect(res.status, await res.clone().text()).toBeLessThan(300);
      }
      await expect.poll(sessionOf, { timeout: 20_000 }).toBeDefined();
      const sessionId = (await sessionOf())!.id;
      expect(await settled(server, sessionId)).toBe("awaiting_approval");
      // The tool hears about it: a note that an approval is requested.
      await expect.poll(() => vendor.notes(remoteId).length, { timeout: 20_000 }).toBeGreaterThan(0);

      // First approval in the dashboard, while the tool is down: its notes wait in the outbox.
      await signIn(page, url);
      vendor.outage(true);
      expect(await approveOne(page, url, sessionId, "approved before the restart")).toBe(true);
      await settled(server, sessionId);
      await expect
        .poll(
          async () =>
            (await outbox(server!, ticket.id)).some((i) => i.status === "pending" && i.attempts > 0),
          {
            timeout: 20_000,
          },
        )
        .toBe(true);
      const notesBefore = vendor.notes(remoteId).length;

      // Restart in the middle: the tool is still down when the server stops.
      await server.close();
      server = undefined;
      vendor.outage(false);
      server = await start(vendor, dataDir);
      const url2 = server.url;
      await signIn(page, url2);
      // The ticket's page, left open in another tab: its remote panel follows the deliveries live.
      const detail = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await signIn(detail, url2);
      await detail.goto(`${url2}/#/tickets/${ticket.id}`);
      await detail.locator("#remote-ticket").waitFor({ timeout: 15_000 });

      // The rest of the approvals, in the dashboard of the restarted server.
      for (let round = 0; round < 10; round++) {
        const status = await settled(server, sessionId);
        if (status !== "awaiting_approval") break;
        expect(await approveOne(page, url2, sessionId, `approved after the restart (${round + 1})`)).toBe(
          true,
        );
      }
      const finished = (await server.engine.executions.get(sessionId)).session.status;
      expect(finished).toBe("succeeded");

      // Everything the outbox held is delivered, once: nothing pending, nothing dead, no note twice.
      await expect
        .poll(async () => (await outbox(server!, ticket.id)).every((i) => i.status === "delivered"), {
          timeout: 45_000,
        })
        .toBe(true);
      const items = await outbox(server, ticket.id);
      const notes = vendor.notes(remoteId);
      expect(notes.length).toBeGreaterThan(notesBefore);
      expect(notes.length).toBe(items.filter((i) => i.kind === "comment").length);
      const markers = notes.map((n) => /\[runwarden-note:([0-9a-f]+)\]\s*$/.exec(n)?.[1]);
      expect(markers.every(Boolean)).toBe(true);
      expect(new Set(markers).size).toBe(markers.length);
      // The approval request, the step approved before the restart (written while the tool was down,
      // delivered by the restarted server) and the outcome.
      const text = notes.join("\n");
      expect(text).toContain("Approval needed (approval 1");
      expect(text).toContain('Step "echo-would-force-logrotate-for" succeeded');
      expect(text).toContain(`Runwarden session ${sessionId} (runbook "disk-space-cleanup") succeeded.`);
      // The outcome: the remote ticket is solved, and still the only one (nothing created twice).
      await expect.poll(() => vendor.status(remoteId), { timeout: 20_000 }).toBe(vendor.solved);
      expect(vendor.count()).toBe(1);
      expect(await pulled()).toHaveLength(1);
      expect((await server.engine.tickets.list({ source: vendor.name, limit: 10 })).items).toHaveLength(1);

      await expect
        .poll(() => detail.locator("#remote-ticket .remote-notes").textContent(), { timeout: 15_000 })
        .toContain(`Runwarden session ${sessionId} (runbook "disk-space-cleanup") succeeded.`);
      await detail.close();

      // The ticket's page in the dashboard: remote link, the state written back, the notes.
      await page.goto(`${url2}/#/tickets/${ticket.id}`);
      const panel = page.locator("#remote-ticket");
      await panel.waitFor({ timeout: 15_000 });
      expect(await panel.getAttribute("data-target")).toBe(vendor.name);
      const link = await panel.locator("a.remote-link").getAttribute("href");
      expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
      expect(link).toContain(remoteId);
      expect(await panel.locator(".remote-state").textContent()).toContain("resolved");
      expect(await panel.locator(".remote-notes li").count()).toBe(notes.length);
      expect(await panel.textContent()).not.toContain("[object");
      expect(await panel.locator(".remote-notes").textContent()).toContain(
        `Runwarden session ${sessionId} (runbook "disk-space-cleanup") succeeded.`,
      );
    });
  });
}
