/**
 * Ticket sync follows configuration: the example server started with no ticketing connector
 * configured (and no RUNWARDEN_TICKET_SYNC) starts syncing the one configured later through the
 * config API or the Connectors tab, without a restart.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeZendesk, fakeZendesk } from "../../../packages/connectors/zendesk/test/fake-zendesk.js";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";
import { launchChromium } from "./fixtures/browser.js";

const chromiumPath = "/usr/bin/chromium";
const adminToken = "live-config-sync-admin-token-0456";
const email = "runwarden@acme.example";
const token = "zendesk-live-config-token-7d2e";

let server: RunningServer | undefined;
let fake: FakeZendesk | undefined;
let dataDir: string | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(chromiumPath))
    throw new Error(
      `${chromiumPath} is missing: run scripts/services/chromium.sh (Debian's chromium package)`,
    );
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  await server?.close();
  await fake?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  server = undefined;
  fake = undefined;
});

async function setUp(): Promise<{ remoteId: number }> {
  fake = await fakeZendesk({ auth: "token", email, token });
  fake.clock.now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const remote = fake.open({
    subject: "Disk full on web-9",
    description: "disk full on web-9",
    tags: ["ops"],
  });
  dataDir = mkdtempSync(join(tmpdir(), "rw-live-sync-"));
  server = await startServer(
    readConfig({
      PORT: "0",
      RUNWARDEN_DATA_DIR: dataDir,
      RUNWARDEN_ADMIN_TOKEN: adminToken,
      RUNWARDEN_TICKET_SYNC_POLL_MS: "200",
    }),
    pino({ level: "silent" }),
  );
  expect(server.engine.connectors.notConfigured("ticketing", "zendesk")).toBeDefined();
  expect(server.engine.sync).toBeUndefined();
  return { remoteId: remote.id };
}

async function pulledIn(remoteId: number) {
  await expect
    .poll(
      async () => (await server!.engine.tickets.list({ source: "zendesk" })).items.map((t) => t.externalId),
      {
        timeout: 15_000,
      },
    )
    .toEqual([String(remoteId)]);
}

describe("ticket sync after configuring a ticketing connector live", () => {
  it("pulls Zendesk tickets in once Zendesk is configured through PUT /connectors/ticketing/zendesk/config", async () => {
    const { remoteId } = await setUp();
    const response = await fetch(`${server!.url}/api/v1/connectors/ticketing/zendesk/config`, {
      method: "PUT",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ url: fake!.url, auth: { type: "token", email, token } }),
    });
    expect(response.status).toBe(200);
    expect(JSON.stringify(await response.json())).not.toContain(token);
    expect(server!.engine.sync?.target).toBe("zendesk");
    await pulledIn(remoteId);
  });

  it("pulls Zendesk tickets in once Zendesk is configured in the Connectors tab (Chromium)", async () => {
    const { remoteId } = await setUp();
    const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      await page.goto(`${server!.url}/`);
      await page.fill("#login-token", adminToken);
      await page.click("#login-form button");
      await page.waitForSelector("#shell:not([hidden])");
      await page.goto(`${server!.url}/#/connectors`);
      const card = page.locator('[data-connector-card="ticketing/zendesk"]');
      await card.waitFor();
      await card.locator('[data-action="configure"]').click();
      await card.locator('input[data-path="url"]').fill(fake!.url);
      await card.locator('select[data-path="auth.type"]').selectOption("token");
      await card.locator('input[data-path="auth.email"]').fill(email);
      await card.locator('input[data-path="auth.token"]').fill(token);
      await card.locator('[data-action="save-config"]').click();
      await expect
        .poll(() => server!.engine.connectors.notConfigured("ticketing", "zendesk"), { timeout: 10_000 })
        .toBeUndefined();
      expect(server!.engine.sync?.target).toBe("zendesk");
      await pulledIn(remoteId);
      // The pulled ticket shows in the dashboard's ticket list.
      await page.goto(`${server!.url}/#/tickets`);
      await expect
        .poll(async () => page.textContent("body"), { timeout: 10_000 })
        .toContain("Disk full on web-9");
    } finally {
      await page.close();
    }
  });
});
