/**
 * The Runbooks tab's editor in a real browser (Debian's Chromium through playwright-core) against
 * the example server: diagnostics as you type (nothing stored), the cursor moved to one, the plan
 * preview, a dry run against a ticket, save as draft then approve, editing a stored runbook, and
 * a draft's Run button on a ticket.
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
const adminToken = "editor-test-admin-token-0123456";

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
  dataDir = mkdtempSync(join(tmpdir(), "rw-editor-"));
  server = await startServer(
    readConfig({ PORT: "0", RUNWARDEN_DATA_DIR: dataDir, RUNWARDEN_ADMIN_TOKEN: adminToken }),
    pino({ level: "silent" }),
  );
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (err) => pageErrors.push(err.message));
  await signIn(adminToken);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function signIn(token: string): Promise<void> {
  await page.evaluate("sessionStorage.clear()").catch(() => {});
  await page.goto(`${server.url}/`);
  await page.fill("#login-token", token);
  await page.click("#login-form button");
  await page.waitForSelector("#shell:not([hidden])");
}

let loads = 0;
/** A fresh load of the Runbooks tab (the same hash again would not render it anew). */
async function openEditor(): Promise<void> {
  await page.goto(`${server.url}/?load=${++loads}#/runbooks`);
  await page.waitForSelector("#runbook-editor #runbook-markdown");
}

async function storedCount(): Promise<number> {
  return (await server.engine.runbooks.list({ limit: 500 })).items.length;
}

const broken = [
  "# Broken in the editor",
  "",
  "## Main Steps",
  "- `rm -rf /tmp/cache` (severity: catastrophic)",
  "",
].join("\n");

describe("the runbook editor", () => {
  it("shows the parser's diagnostics at their line and column as you type, storing nothing", async () => {
    const before = await storedCount();
    await openEditor();
    await page.fill("#runbook-markdown", broken);
    await page.waitForSelector('#runbook-gutter .gutter-line.has-error[data-line="4"]');
    const items = await page.locator("#runbook-lint li").allTextContents();
    expect(items.some((t) => t.startsWith("4:") && t.includes("catastrophic"))).toBe(true);
    expect(await page.getAttribute('#runbook-gutter [data-line="4"]', "title")).toContain("catastrophic");
    expect(await page.locator("#runbook-gutter .gutter-line.has-error").count()).toBe(1);
    expect(await page.textContent("#runbook-lint-status")).toMatch(/1 error/);
    expect(await page.textContent("#runbook-preview")).toContain("fix the errors");

    // Fixing the line clears its mark, as you type.
    await page.fill("#runbook-markdown", broken.replace("catastrophic", "low_risk"));
    await page.waitForSelector('#runbook-gutter [data-line="4"]:not(.has-error)');
    await expect.poll(() => page.textContent("#runbook-lint-status")).toBe("No problems found.");
    expect(await page.locator("#runbook-lint li").count()).toBe(0);
    expect(await storedCount()).toBe(before);
  });

  it("moves the cursor to a diagnostic's line and column when it is clicked", async () => {
    await openEditor();
    await page.fill("#runbook-markdown", broken);
    const link = page.locator("#runbook-lint li .diag-link").first();
    await link.waitFor();
    const line = Number(await link.getAttribute("data-line"));
    const column = Number(await link.getAttribute("data-column"));
    expect(line).toBe(4);
    await page.focus("#login-token").catch(() => {}); // elsewhere first
    await link.click();
    const lines = broken.split("\n");
    const expected = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + column - 1;
    expect(await page.evaluate("document.activeElement.id")).toBe("runbook-markdown");
    expect(await page.evaluate("document.getElementById('runbook-markdown').selectionStart")).toBe(expected);
    // The parser gives the value's end: the value is selected.
    expect(Number(await link.getAttribute("data-end-line"))).toBe(4);
    const endColumn = Number(await link.getAttribute("data-end-column"));
    const selected = await page.evaluate(
      "(() => { const t = document.getElementById('runbook-markdown'); return t.value.slice(t.selectionStart, t.selectionEnd); })()",
    );
    expect(selected).toBe(lines[3]!.slice(column - 1, endColumn - 1));
    expect(selected).toBe("catastrophic");
  });

  it("previews the plan: phases, steps by their text, risk, approvals and connection", async () => {
    await openEditor();
    await page.fill(
      "#runbook-markdown",
      [
        "---",
        "connection: local",
        "---",
        "# Preview me",
        "",
        "## Prechecks",
        "- `echo checking` (name: look-first)",
        "",
        "  Look at the service first.",
        "",
        "## Main Steps",
        "- `echo restarting` (severity: high_risk, requires_approval: true, connection: prod-db-01)",
        "",
      ].join("\n"),
    );
    await page.waitForSelector('#runbook-preview [data-phase="main"]');
    const pre = page.locator('#runbook-preview [data-phase="prechecks"] .step');
    expect(await pre.count()).toBe(1);
    expect(await pre.locator(".step-name").textContent()).toBe("Look at the service first.");
    expect(await pre.textContent()).toContain("on local");
    expect(await pre.textContent()).toContain("low risk");
    const main = page.locator('#runbook-preview [data-phase="main"] .step');
    expect(await main.textContent()).toContain("high risk");
    expect(await main.textContent()).toContain("needs approval");
    expect(await main.textContent()).toContain("on prod-db-01");
    expect(await main.locator("pre.command").textContent()).toBe("echo restarting");
    expect(await page.textContent("#runbook-preview")).toContain("key preview-me");
    expect(await page.textContent("#runbook-preview")).toContain("Default connection: local");
  });

  it("dry-runs against a chosen ticket and shows the rendered commands, running nothing", async () => {
    await openEditor();
    await page.waitForSelector("#dryrun-ticket[data-ids]", { state: "attached" });
    // The ticket arrives after the editor loaded its list: opening the list loads it.
    const { ticket } = await server.engine.tickets.ingest(
      { title: "Editor dry run ticket", environment: "prod", service: "billing api", source: "test" },
      { autoExecute: false },
    );
    await page.focus("#dryrun-ticket");
    await page.fill(
      "#runbook-markdown",
      "# Dry run me\n\n## Main Steps\n- `echo restarting {{ticket.service}}` (requires_approval: true)\n",
    );
    await page.waitForSelector(`#dryrun-ticket option[value="${ticket.id}"]`, { state: "attached" });
    await page.selectOption("#dryrun-ticket", String(ticket.id));
    await page.click("#runbook-dryrun-btn");
    await page.waitForSelector("#runbook-dryrun pre.rendered");
    // The ticket's value is one quoted argument in the rendered command.
    expect(await page.textContent("#runbook-dryrun pre.rendered")).toBe("echo restarting 'billing api'");
    expect(await page.textContent("#runbook-dryrun")).toContain("waits for 1 approval");
    const sessions = await server.engine.executions.list({ ticketId: ticket.id });
    expect(sessions.items).toHaveLength(1);
    expect(sessions.items[0]!.dryRun).toBe(true);
    expect(sessions.items[0]!.status).toBe("succeeded");
    const steps = (await server.engine.executions.get(sessions.items[0]!.id)).steps;
    expect(steps.map((s) => s.status)).toEqual(["skipped"]);
    // The dry run stored the runbook as a draft, and says so.
    expect(await page.textContent("#runbook-dryrun")).toContain("Stored as draft dry-run-me r1");
    const [stored] = (await server.engine.runbooks.list({ key: "dry-run-me" })).items;
    expect(stored!.status).toBe("draft");
  });

  it("saves as a draft, then an approver approves it from the editor", async () => {
    await openEditor();
    await page.fill("#runbook-markdown", "# Save then approve\n\n## Main Steps\n- `echo hello`\n");
    await page.click("#runbook-upload");
    await page.waitForSelector("#runbook-saved #runbook-saved-link");
    expect(await page.textContent("#runbook-saved .badge")).toBe("draft");
    const [stored] = (await server.engine.runbooks.list({ key: "save-then-approve" })).items;
    expect(stored!.status).toBe("draft");
    // The list below the editor shows it without a reload.
    await page.waitForSelector("table tbody tr:has-text('Save then approve')");
    await page.click("#runbook-approve");
    await expect.poll(() => page.textContent("#runbook-saved .badge")).toBe("approved");
    expect((await server.engine.runbooks.get(stored!.id)).status).toBe("approved");
    expect((await server.engine.runbooks.get(stored!.id)).approvedBy).toBe("admin");
  });

  it("offers Approve only to approvers: an operator saves a draft and is told who approves", async () => {
    const { token } = await server.adapter.tokens.create({ actor: "olga", roles: ["operator"] });
    await signIn(token);
    try {
      await openEditor();
      await page.fill("#runbook-markdown", "# Operator draft\n\n## Main Steps\n- `echo hi`\n");
      await page.click("#runbook-upload");
      await page.waitForSelector("#runbook-saved #runbook-saved-link");
      expect(await page.locator("#runbook-approve").count()).toBe(0);
      expect(await page.textContent("#runbook-saved")).toContain("an approver approves it");
    } finally {
      await signIn(adminToken);
    }
  });

  it("shows the errors on their lines when a runbook with errors is saved, and stores nothing", async () => {
    const before = await storedCount();
    await openEditor();
    await page.fill("#runbook-markdown", broken);
    await page.click("#runbook-upload");
    await page.waitForSelector('#runbook-diagnostics .code-line.has-error[data-line="4"]');
    expect(await storedCount()).toBe(before);
  });

  it("edits a stored runbook starting from its Markdown and saves the next revision as a draft", async () => {
    const admin = { id: "admin", roles: ["admin" as const] };
    const markdown = "# Edit me\n\n## Main Steps\n- `echo one`\n";
    const { runbook } = await server.engine.runbooks.create(markdown, { actor: admin, status: "approved" });
    await page.goto(`${server.url}/#/runbooks/${runbook.id}`);
    await page.click("#runbook-edit");
    await page.waitForSelector("#runbook-editor #runbook-markdown");
    expect(page.url()).toContain(`#/runbooks/${runbook.id}/edit`);
    expect(await page.inputValue("#runbook-markdown")).toBe(markdown);
    await page.waitForSelector('#runbook-preview [data-phase="main"]');
    // A new title would store a new runbook, not a revision: the preview says so.
    await page.fill("#runbook-markdown", markdown.replace("# Edit me", "# Edit me renamed"));
    await page.waitForSelector("#runbook-key-changed");
    expect(await page.textContent("#runbook-key-changed")).toContain("id: edit-me");
    await page.fill("#runbook-markdown", markdown.replace("echo one", "echo two"));
    await expect.poll(() => page.textContent('#runbook-preview [data-phase="main"] pre')).toBe("echo two");
    expect(await page.locator("#runbook-key-changed").count()).toBe(0);
    await page.click("#runbook-upload");
    await page.waitForSelector("#runbook-saved #runbook-saved-link");
    const revisions = (await server.engine.runbooks.list({ key: "edit-me" })).items;
    expect(revisions.map((r) => [r.revision, r.status])).toEqual([
      [2, "draft"],
      [1, "approved"],
    ]);
  });

  it("labels a draft runbook's Run button on a ticket as a draft", async () => {
    const admin = { id: "admin", roles: ["admin" as const] };
    await server.engine.runbooks.create(
      "---\nmatch:\n  services: [editor-draft-svc]\n---\n# Draft for tickets\n\n## Main Steps\n- `echo draft`\n",
      { actor: admin },
    );
    await server.engine.runbooks.create(
      "---\nmatch:\n  services: [editor-draft-svc]\n---\n# Approved for tickets\n\n## Main Steps\n- `echo approved`\n",
      { actor: admin, status: "approved" },
    );
    const { ticket } = await server.engine.tickets.ingest(
      { title: "Needs a runbook", environment: "prod", service: "editor-draft-svc", source: "test" },
      { autoExecute: false },
    );
    await page.goto(`${server.url}/#/tickets/${ticket.id}`);
    await page.waitForSelector("text=Matched runbooks");
    const draftRow = page.locator("tr:has(a:text('Draft for tickets'))");
    const approvedRow = page.locator("tr:has(a:text('Approved for tickets'))");
    expect((await draftRow.locator("button").textContent())?.trim()).toBe("Run draft");
    expect(await draftRow.locator("button").getAttribute("title")).toContain("draft");
    expect((await approvedRow.locator("button").textContent())?.trim()).toBe("Run");
  });

  it("fits a 390 px screen with diagnostics and the plan shown", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await openEditor();
      await page.fill(
        "#runbook-markdown",
        `${broken}\n## Postchecks\n- \`echo ${"a-very-long-argument-".repeat(8)}\`\n`,
      );
      await page.waitForSelector('#runbook-gutter .gutter-line.has-error[data-line="4"]');
      const overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      expect(overflow).toBeLessThanOrEqual(0);
    } finally {
      await page.setViewportSize({ width: 1400, height: 900 });
    }
  });

  it("raised no error in the page", () => {
    expect(pageErrors).toEqual([]);
  });
});
