/**
 * The Upload Tickets results and the Connectors tab's forms in a real browser (Debian's Chromium
 * through playwright-core) against the example server on a fresh SQLite data folder: per-row
 * line, runbook and reason; a re-upload folding (and reopening) per row; the progress line ending
 * "Done"; the New connection form's credential list following "Create credential" without a
 * reload, and an empty environment labelled as it behaves.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
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
const adminToken = "upload-connectors-admin-token-0123";
const root = fileURLToPath(new URL("../../../", import.meta.url));
const sampleCsv = join(root, "tickets_sample.csv");

let server: RunningServer;
let browser: Browser;
let page: Page;
let dataDir: string;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: run scripts/services/chromium.sh`);
  }
  dataDir = mkdtempSync(join(tmpdir(), "rw-upload-"));
  const config = readConfig({ PORT: "0", RUNWARDEN_DATA_DIR: dataDir, RUNWARDEN_ADMIN_TOKEN: adminToken });
  server = await startServer(config, pino({ level: "silent" }));
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${server.url}/`);
  await page.waitForSelector("#login-form");
  await page.fill("#login-token", adminToken);
  await page.click("#login-form button");
  await page.waitForSelector("#shell:not([hidden])");
  await page.waitForSelector("#live.on");
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** The results table as text cells, one array per row. */
async function resultRows(): Promise<string[][]> {
  return page.$$eval("#upload-results tbody tr", (trs) =>
    trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => (td.textContent ?? "").trim())),
  );
}

async function uploadSample(): Promise<string[][]> {
  await page.goto(`${server.url}/#/upload`);
  await page.setInputFiles("#csv-file", sampleCsv);
  await page.uncheck("#auto-execute");
  await page.click("#upload-btn");
  await page.waitForSelector('#upload-progress[data-state="done"]');
  await page.waitForSelector("#upload-results table");
  return resultRows();
}

describe("Upload Tickets results", () => {
  it("names each row's line, runbook and reason, and the progress line ends done", async () => {
    const rows = await uploadSample();
    expect(rows).toHaveLength(40);
    // Columns: Row, Line, Status, Ticket, Title, Decision, Runbook, Reason.
    for (const [row, line, status, , , decision, runbook, reason] of rows) {
      expect(Number(line)).toBeGreaterThan(Number(row));
      expect(status).toBe("imported");
      expect(reason).not.toBe("");
      if (decision === "no match") expect(runbook).toBe("—");
      else expect(runbook).not.toBe("—");
    }
    expect(rows.some((r) => r[5] !== "no match")).toBe(true);
    // Late progress events do not overwrite the done line.
    await page.waitForTimeout(300);
    expect(await page.textContent("#upload-progress")).toMatch(/^Done: 40 rows, 40 imported/);
  });

  it("says per row that a re-upload folded into existing tickets, and which resolved one it reopened", async () => {
    const { items } = await server.engine.tickets.list({ limit: 500 });
    const resolved = items.find((t) => t.title === "Database connection timeout");
    expect(resolved).toBeDefined();
    await server.engine.tickets.setStatus(resolved!.id, "resolved", "fixed by hand");
    const rows = await uploadSample();
    expect(rows).toHaveLength(40);
    expect(rows.filter((r) => r[2] === "imported")).toHaveLength(0);
    const reopened = rows.filter((r) => r[2] === "reopened");
    expect(reopened.map((r) => r[3])).toContain(`#${resolved!.id}`);
    expect(reopened[0]![7]).toMatch(/was resolved: reopened as needs_human/);
    expect(rows.filter((r) => r[2] === "folded").length).toBe(40 - reopened.length);
    expect(rows.find((r) => r[2] === "folded")![7]).toMatch(/^folded into ticket #\d+/);
    expect(await page.textContent("#upload-progress")).toMatch(/^Done: 40 rows, 0 imported, 40 folded/);
  });
});

describe("Upload Tickets backtest", () => {
  it("shows per row the runbook that would run, its rendered plan and its approval steps, storing nothing", async () => {
    const before = (await server.engine.tickets.list({ limit: 500 })).items.length;
    const sessions = await server.engine.countByStatus("sessions");
    await page.goto(`${server.url}/#/upload`);
    await page.setInputFiles("#csv-file", sampleCsv);
    await page.check("#dry-run");
    expect(await page.textContent("#upload-btn")).toBe("Backtest (dry run)");
    await page.click("#upload-btn");
    await page.waitForSelector('#upload-progress[data-state="done"]');
    await page.waitForSelector("#backtest-results");
    expect(await page.textContent("#upload-progress")).toMatch(
      /^Done \(dry run, nothing stored or run\): 40 rows/,
    );
    expect(await page.locator("#backtest-results .backtest-row").count()).toBe(40);
    const planned = page.locator("#backtest-results .backtest-row", {
      has: page.locator("ol.backtest-steps"),
    });
    expect(await planned.count()).toBeGreaterThan(0);
    // A planned row names its runbook and shows rendered commands; some step waits for approval.
    const first = planned.first();
    expect(await first.textContent()).toMatch(/\(([a-z0-9-]+)\)/);
    expect((await first.locator("pre").first().textContent())?.length).toBeGreaterThan(0);
    expect(await page.locator('#backtest-results li[data-approval="yes"]').count()).toBeGreaterThan(0);
    expect(await page.locator('#backtest-results li[data-approval="yes"]').first().textContent()).toContain(
      "waits for approval",
    );
    // Nothing stored, nothing started.
    expect((await server.engine.tickets.list({ limit: 500 })).items.length).toBe(before);
    expect(await server.engine.countByStatus("sessions")).toEqual(sessions);
  });
});

describe("Connectors tab forms", () => {
  it("offers a credential just created to the New connection form without a reload, by environment", async () => {
    await page.goto(`${server.url}/#/connectors`);
    const connections = page.locator("#connections");
    await connections.locator("details.create > summary").waitFor();
    await connections.locator("details.create > summary").click();
    const options = () => page.$$eval("#conn-credential option", (os) => os.map((o) => o.textContent));
    expect(await options()).toEqual(["none"]);

    // A credential with no environment, then one for prod, from the credential form.
    for (const [name, env] of [
      ["shared-login", ""],
      ["prod-login", "prod"],
    ] as const) {
      // Saving redraws the credentials section: open its form each time.
      await page.click("#credentials details.create > summary");
      await page.fill("#cred-name", name);
      await page.selectOption("#cred-type", "generic");
      await page.fill("#cred-env", env);
      await page.locator("#cred-fields .cred-field").nth(0).locator("input").nth(1).fill("svc");
      await page.locator("#cred-fields .cred-field").nth(1).locator("input").nth(1).fill("s3cret-value-1");
      await page.click("#cred-save");
      await page.locator("[data-credential]", { hasText: name }).waitFor();
    }
    // Labelled as it behaves: no environment, offered only to connections with none.
    expect(await page.locator("[data-credential]", { hasText: "shared-login" }).textContent()).toContain(
      "(no environment)",
    );
    await expect.poll(options).toEqual(["none", "shared-login (no environment)"]);
    await page.fill("#conn-env", "prod");
    await expect.poll(options).toEqual(["none", "prod-login (prod)"]);

    // A credential created elsewhere arrives through the event stream (credential:changed).
    await server.engine.credentials.create({
      name: "prod-api-key",
      credentialType: "generic",
      environment: "prod",
      username: "u",
      password: "p-0123456789",
    });
    await expect.poll(options).toEqual(["none", "prod-login (prod)", "prod-api-key (prod)"]);

    // The API agrees: a credential with no environment is refused for a prod connection, saying why.
    const shared = (await server.engine.credentials.list()).find((c) => c.name === "shared-login")!;
    const refused = await page.evaluate(
      async ([url, token, credentialId]) => {
        const r = await fetch(`${url}/api/v1/connectors/infrastructure-connections`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({
            name: "x",
            connection_type: "ssh",
            target_host: "127.0.0.1",
            environment: "prod",
            credential_id: credentialId,
          }),
        });
        return { status: r.status, body: await r.text() };
      },
      [server.url, adminToken, shared.id] as const,
    );
    expect(refused.status).toBe(422);
    expect(refused.body).toContain("belongs to no environment");
  });
});
