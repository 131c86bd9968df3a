/**
 * The dashboard's Webhook Sources tab in a real browser (Debian's Chromium through playwright-core)
 * against the example server: try a mapping on a sample body (nothing stored), see a JSONata error
 * pointed at, create the source (token shown once), and the tool's webhook with that token
 * becomes a ticket.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";
import { launchChromium } from "./fixtures/browser.js";

const chromiumPath = "/usr/bin/chromium";
const adminToken = "webhook-dashboard-admin-token-0123";

let server: RunningServer;
let browser: Browser;
let page: Page;
let dataDir: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `${chromiumPath} is missing: run scripts/services/chromium.sh (Debian's chromium package)`,
    );
  }
  dataDir = mkdtempSync(join(tmpdir(), "rw-ws-dashboard-"));
  server = await startServer(
    readConfig({ PORT: "0", RUNWARDEN_DATA_DIR: dataDir, RUNWARDEN_ADMIN_TOKEN: adminToken }),
    pino({ level: "silent" }),
  );
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("pageerror", (err) => pageErrors.push(err.message));
  await page.goto(`${server.url}/`);
  await page.fill("#login-token", adminToken);
  await page.click("#login-form button");
  await page.waitForSelector("#shell:not([hidden])");
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("Webhook Sources tab", () => {
  it("tries the mapping on the sample body without storing anything, then shows a JSONata error with a caret", async () => {
    await page.goto(`${server.url}/#/webhook-sources`);
    await page.waitForSelector("[data-view=webhook-sources] #source-list");
    expect(await page.textContent("#source-list")).toContain("No webhook source yet");
    await page.click("#try-btn");
    await page.waitForSelector("#try-result [data-ticket]");
    const row = await page.textContent("#try-result [data-ticket]");
    expect(row).toContain("p99 latency over 2 s");
    expect(row).toContain("c6eadffa33fcdf37");
    expect((await server.engine.tickets.list({ limit: 10 })).items).toHaveLength(0);

    await page.fill("#ws-mapping", '{ "title": labels.alertname & }');
    await page.click("#try-btn");
    await page.waitForSelector("#try-result [data-error=RW_ERR_INPUT_MAPPING]");
    expect(await page.textContent("#try-result")).toContain("mapping: ");
    expect(await page.textContent("#try-result [data-caret]")).toContain("^");
    expect(pageErrors).toEqual([]);
  });

  it("creates the source, shows its token once, and the tool's webhook with it opens a ticket", async () => {
    await page.fill("#ws-name", "latency-tool");
    await page.fill("#ws-mapping", '{ "title": annotations.summary, "labels": labels }');
    await page.click("#create-btn");
    await page.waitForSelector("[data-created=latency-tool]");
    const token = await page.inputValue("#created-token");
    expect(token).toMatch(/^rwwh_/);
    expect(await page.inputValue("#created-url")).toBe(`${server.url}/api/v1/tickets/webhook/latency-tool`);
    await page.waitForSelector('#source-list [data-source="latency-tool"]');
    expect(await page.textContent("#source-list")).not.toContain(token);

    const res = await fetch(`${server.url}/api/v1/tickets/webhook/latency-tool`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        alerts: [
          {
            status: "firing",
            labels: { severity: "critical", instance: "api-3:8080" },
            annotations: { summary: "Latency high" },
            fingerprint: "f1",
          },
        ],
      }),
    });
    expect(res.status).toBe(202);
    const { items } = await server.engine.tickets.list({ limit: 10 });
    expect(items[0]).toMatchObject({ title: "Latency high", severity: "critical", source: "latency-tool" });
    expect(pageErrors).toEqual([]);
  });
});
