/**
 * The dashboard at phone width (390 px) in Chromium: every page fits the screen (nothing scrolls
 * sideways, wide tables scroll inside their own box), no badge is cut, and the navigation folds
 * behind a Menu button. Also: an approver-only person lands on the Agent Dashboard and sees no
 * upload tab; the People page makes a token shown once. Screenshots go to docs/screenshots/phone-*.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
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
const adminToken = "phone-test-admin-token-01234567";
const root = fileURLToPath(new URL("../../../", import.meta.url));
const shots = join(root, "docs", "screenshots");

let server: RunningServer;
let browser: Browser;
let dataDir: string;
let executionId: number;
let ticketId: number;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `${chromiumPath} is missing: run scripts/services/chromium.sh (Debian's chromium package)`,
    );
  }
  dataDir = mkdtempSync(join(tmpdir(), "rw-phone-"));
  server = await startServer(
    readConfig({ PORT: "0", RUNWARDEN_DATA_DIR: dataDir, RUNWARDEN_ADMIN_TOKEN: adminToken }),
    pino({ level: "silent" }),
  );
  // Something on every page: the sample CSV imported (tickets, approvals, executions).
  const res = await fetch(`${server.url}/api/v1/tickets/upload-csv?auto_execute=true`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "text/csv" },
    body: readFileSync(join(root, "tickets_sample.csv")),
  });
  expect(res.status).toBeLessThan(300);
  await res.arrayBuffer();
  for (let i = 0; i < 100 && (await server.engine.executions.list({ limit: 1 })).items.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const sessions = await server.engine.executions.list({ limit: 1 });
  executionId = sessions.items[0]!.id;
  ticketId = sessions.items[0]!.ticketId;
  browser = await launchChromium();
  mkdirSync(shots, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${server.url}/`);
  await page.fill("#login-token", token);
  await page.click("#login-form button");
  await page.waitForSelector("#shell:not([hidden])");
}

/** What sticks out at the page's width: the page's own overflow and every badge whose text is cut. */
async function overflow(page: Page): Promise<{ page: number; cut: string[] }> {
  return page.evaluate(`(() => {
    const doc = document.documentElement;
    const cut = [];
    for (const el of document.querySelectorAll(".badge")) {
      if (!el.offsetParent) continue;
      const r = el.getBoundingClientRect();
      // A badge inside a box that scrolls sideways may sit beyond the screen; it must not be cut.
      const scroller = el.closest(".table-scroll, pre");
      const offscreen = !scroller && (r.left < 0 || r.right > window.innerWidth + 0.5);
      if (el.scrollWidth > el.clientWidth + 1 || offscreen) cut.push(el.textContent);
    }
    return { page: doc.scrollWidth - doc.clientWidth, cut };
  })()`);
}

describe("the dashboard at 390 px", () => {
  it("fits every page on the screen, with no badge cut and the navigation behind a Menu button", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    await signIn(page, adminToken);
    // The navigation is folded: the Menu button opens it and a choice closes it again.
    expect(await page.isVisible("#nav")).toBe(false);
    await page.click("#nav-toggle");
    await page.waitForSelector("#nav", { state: "visible" });
    await page.click('#nav a[data-tab="tickets"]');
    await page.waitForSelector("#nav", { state: "hidden" });

    const pages = {
      upload: "#/upload",
      tickets: "#/tickets",
      "ticket-detail": `#/tickets/${ticketId}`,
      approvals: "#/approvals",
      executions: "#/executions",
      execution: `#/executions/${executionId}`,
      runbooks: "#/runbooks",
      connectors: "#/connectors",
      people: "#/people",
      "webhook-sources": "#/webhook-sources",
    };
    const problems: Record<string, unknown> = {};
    for (const [name, hash] of Object.entries(pages)) {
      await page.goto(`${server.url}/${hash}`);
      await page.waitForSelector("main .page-head, main [data-view]");
      await page.waitForLoadState("networkidle");
      const found = await overflow(page);
      if (found.page > 0 || found.cut.length > 0) problems[name] = found;
      await page.screenshot({ path: join(shots, `phone-${name}.png`) });
    }
    expect(problems).toEqual({});
    await page.close();
  });

  it("lands an approver-only person on the Agent Dashboard, with no upload tab", async () => {
    const { token } = await server.adapter.tokens.create({ actor: "on-call", roles: ["approver"] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await signIn(page, token);
    await page.waitForURL(/#\/approvals$/);
    expect(await page.isVisible('#nav a[data-tab="upload"]')).toBe(false);
    expect(await page.textContent("#nav-people")).toBe("Your token");
    await page.goto(`${server.url}/#/upload`);
    const refused = page.locator('[data-view="not-allowed"]');
    await refused.waitFor();
    expect(await refused.textContent()).toContain("operator");
    await page.goto(`${server.url}/#/people`);
    const own = page.locator('[data-panel="own-token"]');
    await own.waitFor();
    expect(await own.textContent()).toContain("on-call");
    expect(await own.textContent()).toContain(token.slice(0, 10));
    expect(await own.textContent()).not.toContain(token);
    await page.close();
  });

  it("makes a person's token on the People page, shown once with a copy button, and revokes it", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await signIn(page, adminToken);
    await page.goto(`${server.url}/#/people`);
    await page.waitForSelector("#person-form");
    await page.fill('#person-form input[name="actor"]', "second-approver");
    await page.click('#person-form button[type="submit"]');
    const value = page.locator("[data-token-value]");
    await value.waitFor();
    const token = await value.inputValue();
    expect(token).toMatch(/^rw_/);
    expect(await page.isVisible('[data-action="copy"]')).toBe(true);
    const info = await server.adapter.tokens.verify(token);
    expect(info).toMatchObject({ actor: "second-approver", roles: ["approver"] });
    await page.screenshot({ path: join(shots, "people.png") });

    // Shown once: after a reload the list has its prefix only.
    await page.reload();
    const row = page.locator('tr[data-actor="second-approver"]');
    await row.waitFor();
    expect(await page.content()).not.toContain(token);
    page.once("dialog", (d) => void d.accept());
    await row.locator('[data-action="revoke"]').click();
    await expect.poll(async () => (await server.adapter.tokens.verify(token)) === undefined).toBe(true);
    await page.close();
  });
});
