/**
 * Configuring Prometheus from the dashboard's Connectors tab, end to end, in a real browser
 * (Debian's Chromium through playwright-core) against the example server started with no
 * configuration: generate the webhook secret, add the Alertmanager URL through the form built from
 * the schema, copy the `receivers:` snippet the tab shows into a REAL Alertmanager's config (our
 * own `prometheus-alertmanager` on a free loopback port), post an alert to Alertmanager and see
 * its ticket arrive in the dashboard.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";
import { launchChromium } from "./fixtures/browser.js";

const chromiumPath = "/usr/bin/chromium";
const alertmanagerPath = "/usr/bin/prometheus-alertmanager";
const adminToken = "connectors-config-admin-token-01";
const shots = fileURLToPath(new URL("../../../docs/screenshots/", import.meta.url));

let server: RunningServer;
let browser: Browser;
let page: Page;
let dataDir: string;
let amDir: string;
let alertmanager: ChildProcess | undefined;
let amUrl: string;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  for (const path of [chromiumPath, alertmanagerPath]) {
    if (!existsSync(path)) {
      throw new Error(
        `${path} is missing: run scripts/services/start-all.sh (chromium, prometheus-alertmanager)`,
      );
    }
  }
  dataDir = mkdtempSync(join(tmpdir(), "rw-connectors-config-"));
  amDir = mkdtempSync(join(tmpdir(), "rw-connectors-am-"));
  // No connector configuration at all: Prometheus starts as "not configured".
  server = await startServer(
    readConfig({ PORT: "0", RUNWARDEN_DATA_DIR: dataDir, RUNWARDEN_ADMIN_TOKEN: adminToken }),
    pino({ level: "silent" }),
  );
  amUrl = `http://127.0.0.1:${await freePort()}`;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("dialog", (dialog) => void dialog.accept());
});

afterAll(async () => {
  await browser?.close();
  if (alertmanager && alertmanager.exitCode === null) {
    const exited = new Promise((resolve) => alertmanager!.once("exit", resolve));
    alertmanager.kill("SIGTERM");
    await exited;
  }
  await server?.close();
  for (const dir of [dataDir, amDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

const card = () => page.locator('[data-connector-card="monitoring/prometheus"]');

describe("configuring Prometheus from the Connectors tab", () => {
  it("signs in and finds Prometheus not configured, with its webhook URL and set-up steps", async () => {
    await page.goto(`${server.url}/`);
    await page.fill("#login-token", adminToken);
    await page.click("#login-form button");
    await page.waitForSelector("#shell:not([hidden])");
    await page.goto(`${server.url}/#/connectors`);
    await card().waitFor();
    const text = await card().textContent();
    expect(text).toContain("not configured");
    expect(text).toContain(`${server.url}/api/v1/tickets/webhook/prometheus`);
    expect(text).toContain("receivers:");
    // Every monitoring and ticketing connector has a card.
    expect(await page.locator('[data-connector-card="monitoring/datadog"]').count()).toBe(1);
    expect(await page.locator('[data-connector-card="ticketing/servicenow"]').count()).toBe(1);
  });

  let receiverSnippet = "";
  let secret = "";

  it("generates the webhook secret: shown once, and written into the Alertmanager snippet", async () => {
    await card().locator('[data-action="webhook-secret"]').click();
    await card().locator("[data-secret-once]").waitFor();
    secret = (await card().locator("[data-secret]").textContent()) ?? "";
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    receiverSnippet = (await card().locator('[data-step="0"] pre').textContent()) ?? "";
    expect(receiverSnippet).toContain("receivers:");
    expect(receiverSnippet).toContain(`credentials: "${secret}"`);
    expect(receiverSnippet).toContain(`url: "${server.url}/api/v1/tickets/webhook/prometheus"`);
    expect(await card().textContent()).toContain("configured");
    // The API never shows it again.
    const config = await fetch(`${server.url}/api/v1/connectors/monitoring/prometheus/config`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const body = (await config.json()) as { config: { webhookAuth: { token: string } }; source: string };
    expect(body).toMatchObject({
      source: "store",
      config: { webhookAuth: { type: "bearer", token: "********" } },
    });
  });

  it("adds Alertmanager's URL through the form built from the schema, keeping the masked secret", async () => {
    await card().locator('[data-action="configure"]').click();
    const token = card().locator('input[data-path="webhookAuth.token"]');
    await token.waitFor();
    expect(await token.getAttribute("type")).toBe("password");
    expect(await token.inputValue()).toBe("********");
    expect(await card().locator('[data-path="webhookAuth.type"]').inputValue()).toBe("bearer");
    expect(await card().locator('.schema-field[data-required="true"]').count()).toBeGreaterThan(0);
    await card().locator('input[data-path="url"]').fill(amUrl);
    await card().locator('[data-action="save-config"]').click();
    await expect
      .poll(async () => (await server.engine.connectorConfigs.get("monitoring", "prometheus")).config?.url)
      .toBe(amUrl);
    // The card as a person sees it afterwards: the secret no longer shown, the form reopened.
    await expect.poll(async () => card().textContent()).not.toContain(secret);
    await card().locator('[data-action="configure"]').click();
    await card().locator('input[data-path="url"]').waitFor();
    expect(await card().locator('input[data-path="url"]').inputValue()).toBe(amUrl);
    await page.evaluate("document.getElementById('toasts')?.replaceChildren()");
    await card().screenshot({ path: join(shots, "connectors-configure.png") });
    // The secret kept: the webhook still takes it.
    const check = await fetch(`${server.url}/api/v1/tickets/webhook/prometheus`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ version: "4", status: "firing", alerts: [] }),
    });
    expect(check.status).toBe(202);
  });

  it("pastes the snippet into a real Alertmanager, posts an alert and sees the ticket in the dashboard", async () => {
    // The route is ours (fast grouping for the test); the receiver is exactly what the tab showed.
    const config = `route:
  receiver: runwarden
  group_by: ["alertname"]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
${receiverSnippet}`;
    const configFile = join(amDir, "alertmanager.yml");
    writeFileSync(configFile, config, { mode: 0o600 });
    mkdirSync(join(amDir, "data"), { recursive: true });
    alertmanager = spawn(
      alertmanagerPath,
      [
        `--config.file=${configFile}`,
        `--storage.path=${join(amDir, "data")}`,
        `--web.listen-address=${amUrl.slice("http://".length)}`,
        `--web.external-url=${amUrl}`,
        "--cluster.listen-address=",
      ],
      { stdio: "ignore" },
    );
    await expect
      .poll(async () => (await fetch(`${amUrl}/-/ready`).catch(() => undefined))?.status, { timeout: 20_000 })
      .toBe(200);

    const summary = "Disk almost full on web-07 (connectors browser test)";
    const posted = await fetch(`${amUrl}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        {
          labels: {
            alertname: "DiskAlmostFull",
            instance: "web-07:9100",
            severity: "warning",
            service: "web",
          },
          annotations: { summary },
        },
      ]),
    });
    expect(posted.status).toBe(200);

    await page.goto(`${server.url}/#/tickets`);
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.waitForSelector("main table, main .empty");
          return page.locator("main").textContent();
        },
        { timeout: 30_000, interval: 1_000 },
      )
      .toContain(summary);
    const ticket = (await server.engine.tickets.list({ source: "prometheus" })).items.find(
      (t) => t.title === summary,
    );
    expect(ticket).toMatchObject({ source: "prometheus", severity: "medium" });
  });

  it("shows the webhook received and sends a test alert from the card", async () => {
    await page.goto(`${server.url}/#/connectors`);
    await card().waitFor();
    await expect.poll(async () => card().textContent()).toMatch(/since start/);
    expect(await card().textContent()).not.toContain("none since start");
    // The source has a poller on the new instance (url set: it pulls Alertmanager).
    expect(server.engine.monitoring.poller("prometheus")).toBeDefined();
    const before = (await server.engine.tickets.list({ source: "prometheus" })).items.length;
    await card().locator('[data-action="test-alert"]').click();
    await expect
      .poll(async () => (await server.engine.tickets.list({ source: "prometheus" })).items.length)
      .toBe(before + 1);
    await page.goto(`${server.url}/#/tickets`);
    await expect.poll(() => page.locator("main").textContent()).toContain("Test alert sent from Runwarden");
  });

  it("configures the webhook notifier through the API and sends a test notification from its card", async () => {
    const got: Record<string, string | string[] | undefined>[] = [];
    const receiver = createHttpServer((req, res) => {
      got.push(req.headers);
      req.resume();
      req.on("end", () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      const put = await fetch(`${server.url}/api/v1/connectors/notifier/webhook/config`, {
        method: "PUT",
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ url, secret: "connectors-test-webhook-secret" }),
      });
      expect(put.status).toBe(200);
      await page.goto(`${server.url}/#/connectors`);
      const notifier = page.locator('[data-connector-card="notifier/webhook"]');
      await notifier.waitFor();
      await notifier.locator('[data-action="test-notification"]').click();
      await expect.poll(() => got.length).toBe(1);
      expect(got[0]!["x-runwarden-event"]).toBe("test");
      expect(String(got[0]!["x-runwarden-signature"])).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});
