/**
 * The Agent Dashboard in Chromium: approvals grouped by execution with the soonest expiry on top,
 * filters by risk, environment and runbook, steps titled with their runbook text, the live activity
 * backfilled on arrival, and storm control's pause shown as a banner a person can resume from.
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
const adminToken = "agent-dashboard-admin-token-0123";
const admin = { id: "admin", roles: ["admin"] as const };

let server: RunningServer;
let browser: Browser;
let page: Page;
let dataDir: string;

const gated = (key: string, service: string, risk: string, text: string) =>
  `---\nid: ${key}\nauto_execute: true\nmatch:\n  keywords: [${key}-outage]\n  services: [${service}]\n---\n# ${key}\n\nFixes the ${key}-outage.\n\n## Main Steps\n- \`echo first ${key}\` (name: first-${key}, requires_approval: true, severity: ${risk})\n\n  ${text} Then it goes on.\n\n- \`echo second ${key}\` (name: second-${key}, requires_approval: true, severity: ${risk})\n`;

async function ingest(key: string, service: string, environment: string, n: number) {
  const { ticket } = await server.engine.tickets.ingest({
    title: `${key}-outage number ${n}`,
    description: `${key}-outage`,
    service,
    environment,
    source: "test",
  });
  return ticket;
}

async function settledSessionOf(ticketId: number) {
  for (let i = 0; i < 100; i++) {
    const [session] = (await server.engine.executions.list({ ticketId })).items;
    if (session) return server.engine.executions.settled(session.id);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no session for ticket ${ticketId}`);
}

beforeAll(async () => {
  if (!existsSync(chromiumPath))
    throw new Error(`${chromiumPath} is missing: run scripts/services/chromium.sh`);
  dataDir = mkdtempSync(join(tmpdir(), "rw-agent-"));
  server = await startServer(
    readConfig({ PORT: "0", RUNWARDEN_DATA_DIR: dataDir, RUNWARDEN_ADMIN_TOKEN: adminToken }),
    pino({ level: "silent" }),
  );
  await server.engine.runbooks.create(gated("zebra", "zebra", "medium_risk", "Restarts the zebra pool."), {
    actor: admin,
    status: "approved",
  });
  await server.engine.runbooks.create(gated("yak", "yak", "high_risk", "Drains the yak queue."), {
    actor: admin,
    status: "approved",
  });
  await settledSessionOf((await ingest("zebra", "zebra", "prod", 1)).id);
  await settledSessionOf((await ingest("yak", "yak", "staging", 1)).id);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
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

describe("the Agent Dashboard", () => {
  it("groups approvals by execution with counts, titles steps with their runbook text, and filters", async () => {
    await page.goto(`${server.url}/#/approvals`);
    const groups = page.locator("#approval-cards section.group");
    await expect.poll(() => groups.count()).toBe(2);
    // One approval per execution waits (the second step comes after the first).
    for (const g of await groups.all()) {
      expect(await g.locator("[data-count]").getAttribute("data-count")).toBe("1");
      expect(await g.locator("article.card").count()).toBe(1);
    }
    const titles = await page.locator("#approval-cards .card-title").allTextContents();
    expect(titles.sort()).toEqual(["Drains the yak queue.", "Restarts the zebra pool."]);
    // The soonest expiry first: the zebra session asked first.
    expect(await groups.first().textContent()).toContain("zebra");

    await page.selectOption('[data-filter="risk"]', "high_risk");
    await expect.poll(() => groups.count()).toBe(1);
    expect(await groups.first().textContent()).toContain("yak");
    await page.selectOption('[data-filter="risk"]', "");
    await page.selectOption('[data-filter="environment"]', "prod");
    await expect.poll(() => groups.count()).toBe(1);
    expect(await groups.first().textContent()).toContain("zebra");
    await page.selectOption('[data-filter="environment"]', "");
    await page.selectOption('[data-filter="runbook"]', "yak");
    await expect.poll(() => groups.count()).toBe(1);
    expect(await page.textContent("main .sub")).toContain("1 hidden by the filters");
    await page.selectOption('[data-filter="runbook"]', "");
  });

  it("shows the recent events in Live activity on arrival", async () => {
    await page.goto(`${server.url}/#/tickets`);
    await page.goto(`${server.url}/#/approvals`);
    const feed = page.locator("#activity li");
    await expect.poll(() => feed.count()).toBeGreaterThan(0);
    expect(await page.locator("#activity").textContent()).toMatch(/Approval #\d+ requested/);
  });

  it("shows storm control's pause as a banner, and an approver resumes auto-execution from it", async () => {
    await server.engine.runbooks.create(
      "---\nid: flaky\nauto_execute: true\nmatch:\n  keywords: [flaky-outage]\n  services: [flaky]\n---\n# Flaky fix\n\nFixes the flaky-outage.\n\n## Main Steps\n- `false` (name: fail)\n",
      { actor: admin, status: "approved" },
    );
    await page.goto(`${server.url}/#/approvals`);
    await page.waitForSelector("#approval-cards section.group");
    // Three failures in a row (the default threshold) open the breaker.
    for (let i = 1; i <= 3; i++) await settledSessionOf((await ingest("flaky", "flaky", "prod", i)).id);
    const banner = page.locator('[data-paused="flaky"]');
    await banner.waitFor();
    expect(await banner.textContent()).toContain("failed 3 times in a row");
    await banner.locator('[data-action="resume"]').click();
    await banner.waitFor({ state: "detached" });
    expect(server.engine.executions.pausedAutoExecutions()).toEqual([]);
    const audit = await server.engine.audit.list({ action: "runbook.auto_execution_resumed" });
    expect(audit.items.map((a) => a.actor)).toEqual(["admin"]);
  });
});
