/**
 * Two-way ticket sync end to end through the example server for ServiceDesk Plus and Remedy, each
 * against its fake (test code that speaks the documented API): a ticket opened in the tool is
 * pulled in, its runbook runs to an approval that is approved in the dashboard (Chromium), the
 * approvals and the outcome are written back as notes and a status, and a restart in the middle —
 * while the tool is failing, so writes wait in the outbox — loses and duplicates nothing.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeRemedy, fakeRemedy } from "../../../packages/connectors/remedy/test/fake-remedy.js";
import { type FakeSdp, fakeSdp } from "../../../packages/connectors/servicedesk-plus/test/fake-sdp.js";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";
import { launchChromium } from "./fixtures/browser.js";

const chromiumPath = "/usr/bin/chromium";
const adminToken = "sdp-remedy-sync-test-admin-token-42";
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
  name: "servicedesk-plus" | "remedy";
  variable: string;
  config(): Record<string, unknown>;
  /** Opens a ticket in the tool, as a person would; returns its id. */
  seed(): string;
  /** The notes on the remote ticket, oldest first, as plain text, each with its idempotency marker. */
  notes(id: string): { text: string; marker: string | undefined }[];
  status(id: string): string;
  count(): number;
  outage(on: boolean): void;
  solved: string;
  /** Sessions the connector released (Remedy's JWT logout); undefined when the tool has none. */
  released?(): number;
  close(): Promise<void>;
}

function plain(html: string): string {
  return html
    .replace(/<br\s*\/?>/g, "\n")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

async function sdpVendor(): Promise<Vendor> {
  const authtoken = "E2E0D54A-EC1A-4C66-863A-84D0F4FAE6AF";
  const fake: FakeSdp = await fakeSdp({ mode: "onprem", authtoken });
  // The instance's clock is the real one: every write moves last_updated_time, as in SDP.
  Object.defineProperty(fake.clock, "now", { get: () => Date.now() });
  const request = (id: string) => fake.requests.find((r) => r.id === id)!;
  return {
    name: "servicedesk-plus",
    variable: "RUNWARDEN_CONNECTOR_CONFIG_SERVICEDESK_PLUS",
    config: () => ({ baseUrl: fake.url, auth: { type: "authtoken", authtoken } }),
    seed: () => {
      const now = Date.now();
      fake.requests.push({
        id: "100000000000099001",
        subject: title,
        description: description.replace(/\n/g, "<br>"),
        status: "Open",
        priority: "High",
        group: "Linux Ops",
        request_type: "Incident",
        requester: "Jane Doe",
        created_time: now,
        last_updated_time: now,
        closure_info: null,
        resolution: null,
        udf_fields: {},
        notes: [],
      });
      return "100000000000099001";
    },
    notes: (id) =>
      request(id).notes.map((n) => ({
        text: plain(n.description),
        marker: /\[runwarden-note:([0-9a-f]+)\]$/.exec(n.description)?.[1],
      })),
    status: (id) => request(id).status,
    count: () => fake.requests.length,
    outage: (on) =>
      fake.failNext(on ? 100_000 : 0, {
        status: 503,
        body: { response_status: { status_code: 5000, status: "failed" } },
      }),
    solved: "Resolved",
    close: () => fake.close(),
  };
}

async function remedyVendor(): Promise<Vendor> {
  const username = "svc_runwarden";
  const password = "remedy-e2e-password-61d";
  const fake: FakeRemedy = await fakeRemedy({ username, password });
  Object.defineProperty(fake.clock, "now", { get: () => Math.floor(Date.now() / 1000) });
  const incident = (id: string) => fake.incidents.find((i) => i["Incident Number"] === id)!;
  return {
    name: "remedy",
    variable: "RUNWARDEN_CONNECTOR_CONFIG_REMEDY",
    config: () => ({
      serverUrl: fake.url,
      auth: { username, password },
      customer: { firstName: "Remediation", lastName: "Bot" },
    }),
    seed: () => {
      const now = Math.floor(Date.now() / 1000);
      fake.incidents.push({
        "Request ID": "INC000000000900|INC000000000900",
        "Incident Number": "INC000000000900",
        Description: title,
        "Detailed Decription": description,
        Status: "Assigned",
        Impact: "2-Significant/Large",
        Urgency: "2-High",
        Priority: "High",
        "Assigned Group": "Linux Ops",
        "Reported Source": "Direct Input",
        Service_Type: "Infrastructure Restoration",
        "Submit Date": now,
        "Last Modified Date": now,
      });
      return "INC000000000900";
    },
    notes: (id) =>
      fake.worklogs
        .filter((w) => w["Incident Number"] === id)
        .map((w) => ({
          text: String(w["Detailed Description"]),
          marker: /^Runwarden note rw:([0-9a-f]+)$/.exec(String(w.Description))?.[1],
        })),
    status: (id) => String(incident(id).Status),
    count: () => fake.incidents.length,
    outage: (on) =>
      fake.failNext(on ? 100_000 : 0, {
        status: 503,
        body: [{ messageType: "ERROR", messageText: "Service Unavailable", messageNumber: 90 }],
      }),
    solved: "Resolved",
    released: () => fake.logouts,
    close: () => fake.close(),
  };
}

async function start(vendor: Vendor, dataDir: string): Promise<RunningServer> {
  return startServer(
    readConfig({
      PORT: "0",
      RUNWARDEN_DATA_DIR: dataDir,
      RUNWARDEN_ADMIN_TOKEN: adminToken,
      RUNWARDEN_TICKET_SYNC: vendor.name,
      RUNWARDEN_TICKET_SYNC_POLL_MS: "300",
      [vendor.variable]: JSON.stringify(vendor.config()),
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

/** Approves, in the dashboard, the first pending approval of `sessionId`; false when there is none. */
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

async function settled(server: RunningServer, sessionId: number): Promise<string> {
  await server.engine.executions.settled(sessionId, { timeoutMs: 30_000 });
  return (await server.engine.executions.get(sessionId)).session.status;
}

async function outbox(server: RunningServer, ticketId: number) {
  return server.engine.storage.outbox.find({ where: { ticketId }, order: "asc", limit: 500 });
}

for (const make of [sdpVendor, remedyVendor]) {
  describe(`ticket sync end to end: ${make === sdpVendor ? "servicedesk-plus" : "remedy"}`, () => {
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

      const pulled = async () =>
        (await server!.engine.tickets.list({ source: vendor.name, limit: 10 })).items.filter(
          (t) => t.externalId === remoteId,
        );
      await expect.poll(async () => (await pulled()).length, { timeout: 20_000 }).toBe(1);
      const ticket = (await pulled())[0]!;
      expect(ticket).toMatchObject({ title, severity: "high" });

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
      await expect.poll(() => vendor.notes(remoteId).length, { timeout: 20_000 }).toBeGreaterThan(0);

      // First approval in the dashboard while the tool is down: its notes wait in the outbox.
      await signIn(page, url);
      vendor.outage(true);
      expect(await approveOne(page, url, sessionId, "approved before the restart")).toBe(true);
      await settled(server, sessionId);
      await expect
        .poll(
          async () =>
            (await outbox(server!, ticket.id)).some((i) => i.status === "pending" && i.attempts > 0),
          { timeout: 20_000 },
        )
        .toBe(true);
      const notesBefore = vendor.notes(remoteId).length;

      // Restart in the middle, the tool still down when the server stops.
      await server.close();
      server = undefined;
      // Closing the server closes the connector: Remedy's JWT is released.
      if (vendor.released) expect(vendor.released()).toBeGreaterThanOrEqual(1);
      vendor.outage(false);
      server = await start(vendor, dataDir);
      const url2 = server.url;
      await signIn(page, url2);

      for (let round = 0; round < 10; round++) {
        const status = await settled(server, sessionId);
        if (status !== "awaiting_approval") break;
        expect(await approveOne(page, url2, sessionId, `approved after the restart (${round + 1})`)).toBe(
          true,
        );
      }
      expect((await server.engine.executions.get(sessionId)).session.status).toBe("succeeded");

      // Everything the outbox held is delivered once: nothing pending or dead, no note twice.
      await expect
        .poll(async () => (await outbox(server!, ticket.id)).every((i) => i.status === "delivered"), {
          timeout: 45_000,
        })
        .toBe(true);
      const items = await outbox(server, ticket.id);
      const notes = vendor.notes(remoteId);
      expect(notes.length).toBeGreaterThan(notesBefore);
      expect(notes.length).toBe(items.filter((i) => i.kind === "comment").length);
      expect(notes.every((n) => n.marker !== undefined)).toBe(true);
      expect(new Set(notes.map((n) => n.marker)).size).toBe(notes.length);
      const text = notes.map((n) => n.text).join("\n");
      expect(text).toContain("Approval needed (approval 1");
      expect(text).toContain('Step "echo-would-force-logrotate-for" succeeded');
      expect(text).toContain(`Runwarden session ${sessionId} (runbook "disk-space-cleanup") succeeded.`);
      // The outcome: the remote ticket is resolved, and still the only one.
      await expect.poll(() => vendor.status(remoteId), { timeout: 20_000 }).toBe(vendor.solved);
      expect(vendor.count()).toBe(1);
      expect(await pulled()).toHaveLength(1);
      expect((await server.engine.tickets.list({ source: vendor.name, limit: 10 })).items).toHaveLength(1);
    });
  });
}
