/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against the example
 * server on a fresh SQLite data folder: the connector guide's walk-through, credentials, runbook
 * diagnostics, and a screenshot of each tab for docs/screenshots/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeWsman } from "../../../packages/connectors/winrm/test/fake-wsman.js";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";
import { launchChromium } from "./fixtures/browser.js";

const chromiumPath = "/usr/bin/chromium";
const adminToken = "dashboard-test-admin-token-0123";
const root = fileURLToPath(new URL("../../../", import.meta.url));
const shots = join(root, "docs", "screenshots");
const sampleCsv = join(root, "tickets_sample.csv");

let server: RunningServer;
let browser: Browser;
let page: Page;
let dataDir: string;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `${chromiumPath} is missing: run scripts/services/chromium.sh (Debian's chromium package)`,
    );
  }
  dataDir = mkdtempSync(join(tmpdir(), "rw-dashboard-"));
  const config = readConfig({
    PORT: "0",
    RUNWARDEN_DATA_DIR: dataDir,
    RUNWARDEN_ADMIN_TOKEN: adminToken,
    // Webhook-only Prometheus: listed with its poller (nothing to pull), for the Connectors page.
    RUNWARDEN_PROMETHEUS_TOKEN: "dashboard-prometheus-token-0042",
  });
  server = await startServer(config, pino({ level: "silent" }));
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  (page as Page & { errors: string[] }).errors = errors;
  mkdirSync(shots, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A screenshot of the page as a person lands on it: scrolled to the top, no toasts. */
async function shot(name: string) {
  // Runs in the page (a string, so this file needs no DOM types).
  await page.evaluate("document.getElementById('toasts')?.replaceChildren(); window.scrollTo(0, 0)");
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

describe("dashboard", () => {
  it("asks for a token, refuses a wrong one and signs in with the admin token", async () => {
    await page.goto(`${server.url}/`);
    await page.waitForSelector("#login-form");
    await page.fill("#login-token", "not-a-real-token-000000");
    await page.click("#login-form button");
    await expect.poll(() => page.textContent("#login-error")).toContain("not valid");
    await page.fill("#login-token", adminToken);
    await page.click("#login-form button");
    await page.waitForSelector("#shell:not([hidden])");
    expect(await page.textContent("#whoami")).toContain("admin");
    await page.waitForSelector("#live.on");
  });

  it("uploads the sample CSV, approves from the Agent Dashboard and sees the execution finish", async () => {
    await page.goto(`${server.url}/#/upload`);
    await page.setInputFiles("#csv-file", sampleCsv);
    await page.check("#auto-execute");
    await page.click("#upload-btn");
    await page.waitForSelector("#upload-results table");
    expect(await page.locator("#upload-results tbody tr").count()).toBe(40);
    await shot("upload-tickets");

    // Approvals appear on the Agent Dashboard (auto-executed runbooks stop at their approval steps).
    await page.goto(`${server.url}/#/approvals`);
    await page.waitForSelector("#approval-cards [data-approval]");
    await shot("agent-dashboard");
    // The admin uploaded the file, so it caused every session: follow one whose runbook has no
    // high_risk step, so the admin may approve every step of it (a high_risk step of these
    // sessions needs another approver; the next test shows that).
    const noHighRisk = new Set(["disk-space-cleanup", "high-cpu-investigation", "renew-tls-certificate"]);
    const waitingSession = async () =>
      (await server.engine.executions.list({ status: "awaiting_approval", limit: 500 })).items.find((s) =>
        noHighRisk.has(s.runbookKey),
      )?.id;
    await expect.poll(waitingSession, { timeout: 30_000 }).toBeDefined();
    const sessionId = (await waitingSession())!;
    await page.waitForSelector(`#approval-cards [data-approval]:has(a[href="#/executions/${sessionId}"])`);

    // Approve every step of that execution as it asks, without reloading: new requests arrive live.
    for (let round = 0; round < 10; round++) {
      const card = page
        .locator(`#approval-cards [data-approval]:has(a[href="#/executions/${sessionId}"])`)
        .first();
      const approvalId = await card.getAttribute("data-approval", { timeout: 15_000 }).catch(() => null);
      if (!approvalId) break;
      await card.locator("textarea").fill(`approved in the browser test (${round + 1})`);
      await card.locator('[data-action="approve"]').click();
      await page.waitForSelector(`[data-approval="${approvalId}"]`, { state: "detached" });
      const status = (await server.engine.executions.get(sessionId)).session.status;
      if (status !== "awaiting_approval" && status !== "running") break;
      await server.engine.executions.settled(sessionId, { timeoutMs: 30_000 });
      if ((await server.engine.executions.get(sessionId)).session.status !== "awaiting_approval") break;
    }
    await page.goto(`${server.url}/#/executions/${sessionId}`);
    await expect.poll(() => page.textContent(".page-head .badge"), { timeout: 30_000 }).toBe("succeeded");
    const decisions = await page.locator(".decision").allTextContents();
    expect(decisions.join(" ")).toContain("admin approved");
    await shot("execution");

    await page.goto(`${server.url}/#/executions`);
    await page.waitForSelector("table");
    await shot("executions");
  });

  it("disables Approve, saying why, on a high_risk step of a session the viewer's upload caused, and another approver approves it", async () => {
    // The CSV upload above was the admin's, with auto-execute: restart-failed-service waits at its
    // high_risk restart, caused by the admin.
    await page.goto(`${server.url}/#/approvals`);
    const card = page.locator("#approval-cards article.risk-high_risk[data-approval]").first();
    await card.waitFor({ timeout: 15_000 });
    const approvalId = await card.getAttribute("data-approval");
    const approve = card.locator('[data-action="approve"]');
    expect(await approve.isDisabled()).toBe(true);
    expect(await card.locator("[data-excluded]").textContent()).toBe(
      "You caused this session (your upload or request started it); a high_risk step needs another approver.",
    );
    expect(await approve.getAttribute("title")).toContain("a high_risk step needs another approver");
    expect(await card.textContent()).toContain("Caused by admin");
    expect(await card.locator('[data-action="reject"]').isDisabled()).toBe(false);

    // Another approver signs in: the same card's Approve is enabled and works.
    const { token } = await server.adapter.tokens.create({ actor: "second-approver", roles: ["approver"] });
    await page.click("#logout");
    await page.fill("#login-token", token);
    await page.click("#login-form button");
    await page.waitForSelector("#shell:not([hidden])");
    await page.goto(`${server.url}/#/approvals`);
    const same = page.locator(`#approval-cards [data-approval="${approvalId}"]`);
    await same.waitFor();
    expect(await same.locator('[data-action="approve"]').isDisabled()).toBe(false);
    expect(await same.locator("[data-excluded]").count()).toBe(0);
    await same.locator("textarea").fill("second pair of eyes");
    await same.locator('[data-action="approve"]').click();
    await page.waitForSelector(`[data-approval="${approvalId}"]`, { state: "detached" });
    const approval = await server.engine.approvals.get(Number(approvalId));
    expect(approval.decisions.map((d) => d.actor)).toEqual(["second-approver"]);

    // Back to the admin for the tests that follow.
    await page.click("#logout");
    await page.fill("#login-token", adminToken);
    await page.click("#login-form button");
    await page.waitForSelector("#shell:not([hidden])");
  });

  it("shows tickets with their analysis and never renders a title as markup", async () => {
    await page.goto(`${server.url}/#/tickets`);
    await page.waitForSelector("table");
    await shot("tickets");

    const hostile = '<img src=x onerror="window.__pwned=1">Disk full on web-9';
    const created = await fetch(`${server.url}/api/v1/tickets/demo/ticket?auto_execute=false`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ title: hostile, service: "nginx", environment: "prod" }),
    });
    const { ticket } = (await created.json()) as { ticket: { id: number } };
    await expect.poll(() => page.locator("main table").textContent()).toContain(hostile);
    expect(await page.locator("main img").count()).toBe(0);
    await page.goto(`${server.url}/#/tickets/${ticket.id}`);
    await page.waitForSelector("h1");
    expect(await page.textContent("h1")).toContain(hostile);
    expect(await page.locator("main img").count()).toBe(0);
    expect(await page.evaluate("window.__pwned")).toBeUndefined();

    const sample = (await server.engine.tickets.list({ limit: 100 })).items.find(
      (t) => t.title === "PostgreSQL connection pool exhausted",
    );
    await page.goto(`${server.url}/#/tickets/${sample!.id}`);
    await page.waitForSelector("text=Matched runbooks");
    expect(await page.textContent("main")).toContain("db-prod-01.internal");
    // The ranked runbooks with the reasons for their scores, and the decision with its reason.
    const stored = sample!.analysis!;
    expect(stored.candidates.length).toBeGreaterThan(0);
    expect(await page.locator("main ul.reasons li").count()).toBeGreaterThanOrEqual(
      stored.candidates[0]!.reasons.length,
    );
    expect(await page.textContent("main")).toContain(stored.candidates[0]!.reasons[0]!);
    expect(await page.textContent("main")).toContain(stored.decision.reason);
    await shot("ticket-detail");
    // The trace is not stored: opening it recomputes it, stage by stage.
    expect(stored).not.toHaveProperty("trace");
    await page.click("#analysis-trace > summary");
    await page.waitForSelector('#analysis-trace li[data-stage="decide"]');
    const trace = await server.engine.tickets.analysisTrace(sample!.id);
    expect(trace.matchesStored).toBe(true);
    expect(await page.locator("#analysis-trace ol.trace > li").count()).toBe(trace.trace.length);
    expect(await page.textContent("#analysis-trace")).toContain(trace.trace.at(-1)!.notes[0]!);
  });

  it("builds the credential form from the credential types: secret fields hidden, required ones marked", async () => {
    await page.goto(`${server.url}/#/connectors`);
    await page.waitForSelector("#credentials details.create");
    await page.click("#credentials details.create > summary");
    const input = (name: string) => page.locator(`#cred-fields [data-field="${name}"] input`).nth(1);
    const required = (name: string) =>
      input(name).evaluate((el) => (el as unknown as { required: boolean }).required);
    // `basic` is declared by the HTTP connector, `ssh` by the SSH connector: no field is guessed by name.
    await page.selectOption("#cred-type", "basic");
    expect(await page.locator("#cred-fields .cred-field").count()).toBe(2);
    expect(await input("username").getAttribute("type")).toBe("text");
    expect(await required("username")).toBe(true);
    expect(await input("password").getAttribute("type")).toBe("password");
    await page.selectOption("#cred-type", "ssh");
    expect(await input("private_key").getAttribute("type")).toBe("password");
    expect(await input("agent_socket").getAttribute("type")).toBe("text");
    expect(await required("username")).toBe(false);
    await page.selectOption("#cred-type", "database");
    expect(await input("port").getAttribute("type")).toBe("number");
    // The Kubernetes connector's types: the token and the client key hidden, the certificate not.
    await page.selectOption("#cred-type", "k8s_token");
    expect(await input("token").getAttribute("type")).toBe("password");
    await page.selectOption("#cred-type", "k8s_client_cert");
    expect(await input("client_key").getAttribute("type")).toBe("password");
    expect(await input("client_certificate").getAttribute("type")).toBe("text");
    await page.click("#credentials details.create > summary");
  });

  it("shows each monitoring connector's poller on the Connectors page", async () => {
    await page.goto(`${server.url}/#/connectors`);
    await page.waitForSelector("#monitoring table");
    const headers = await page.locator("#monitoring th").allTextContents();
    expect(headers).toContain("Pull");
    const row = page.locator("#monitoring tr", { hasText: "prometheus" });
    expect(await row.textContent()).toContain("pull off");
  });

  it("shows a not-configured connector with what it needs instead of an empty list", async () => {
    await page.goto(`${server.url}/#/connectors`);
    const datadog = page.locator('#monitoring tr[data-connector="datadog"]');
    await datadog.waitFor();
    expect(await datadog.getAttribute("data-status")).toBe("not_configured");
    const text = await datadog.textContent();
    expect(text).toContain("not configured");
    expect(text).toContain("RUNWARDEN_CONNECTOR_CONFIG_DATADOG.webhookAuth");
    const servicenow = page.locator('#ticketing tr[data-connector="servicenow"]');
    expect(await servicenow.textContent()).toContain("RUNWARDEN_CONNECTOR_CONFIG_SERVICENOW.instanceUrl");
    expect(await page.locator("#ticketing").textContent()).not.toContain("No ticketing connector registered");
  });

  it("creates a credential and shows it masked", async () => {
    await page.goto(`${server.url}/#/connectors`);
    await page.waitForSelector("#credentials details.create");
    await page.click("#credentials details.create > summary");
    await page.fill("#cred-name", "prod-db-credentials");
    await page.selectOption("#cred-type", "database");
    await page.fill("#cred-env", "prod");
    const values = ["admin", "browser-test-s3cret", "db.example.com", "5432", "mydb"];
    const inputs = page.locator("#cred-fields .cred-field");
    for (let i = 0; i < values.length; i++) await inputs.nth(i).locator("input").nth(1).fill(values[i]!);
    await page.click("#cred-save");
    const row = page.locator("[data-credential]");
    await row.first().waitFor();
    const text = await row.first().textContent();
    expect(text).toContain("password: ********");
    expect(text).toContain("database_name: mydb");
    expect(await page.content()).not.toContain("browser-test-s3cret");

    // A connection with a Test button and its health indicator.
    await server.engine.connections.create({
      name: "runner-host",
      connectionType: "local",
      environment: "prod",
    });
    await page.goto(`${server.url}/#/upload`);
    await page.goto(`${server.url}/#/connectors`);
    const connection = page.locator("[data-connection]").first();
    await connection.waitFor();
    expect(await connection.locator(".health").textContent()).toBe("unknown");
    await connection.locator("button", { hasText: "Test" }).click();
    await expect.poll(() => page.locator("[data-connection] .health").first().textContent()).toBe("healthy");
    await shot("connectors");
  });

  it("creates a WinRM credential and connection from the forms, and its Test reaches the listener", async () => {
    const user = { username: "svc-rw", password: "browser-winrm-s3cret", domain: "CORP" };
    const fake = await startFakeWsman({ auth: "ntlm", user });
    try {
      await page.goto(`${server.url}/#/connectors`);
      await page.waitForSelector("#credentials details.create");
      await page.click("#credentials details.create > summary");
      await page.fill("#cred-name", "win-login");
      await page.selectOption("#cred-type", "winrm");
      const input = (name: string) => page.locator(`#cred-fields [data-field="${name}"] input`).nth(1);
      expect(await input("password").getAttribute("type")).toBe("password");
      await input("username").fill(user.username);
      await input("password").fill(user.password);
      await input("domain").fill(user.domain);
      await page.click("#cred-save");
      await page.locator("[data-credential]", { hasText: "win-login" }).waitFor();

      // The connection form offers the credentials of its environment (here: none).
      await page.goto(`${server.url}/#/upload`);
      await page.goto(`${server.url}/#/connectors`);
      const connections = page.locator("#connections");
      await connections.locator("details.create > summary").waitFor();
      await connections.locator("details.create > summary").click();
      await connections.getByLabel("Name").fill("win-01");
      await connections.getByLabel("Type").selectOption("winrm");
      await connections.getByLabel("Target host").fill("127.0.0.1");
      await connections.getByLabel("Port").fill(String(fake.port));
      await connections.getByLabel("Credential").selectOption({ label: "win-login (no environment)" });
      await connections.getByLabel("Options (JSON)").fill('{"transport": "http"}');
      await connections.getByRole("button", { name: "Create connection" }).click();
      const row = page.locator("[data-connection]", { hasText: "win-01" });
      await row.waitFor();
      await row.locator("button", { hasText: "Test" }).click();
      await expect
        .poll(() => page.locator("[data-connection]", { hasText: "win-01" }).locator(".health").textContent())
        .toBe("healthy");
      expect(fake.log.handshakes).toBeGreaterThanOrEqual(1);
      expect(await page.content()).not.toContain(user.password);
    } finally {
      await fake.close();
    }
  });

  it("uploads a broken runbook and shows its diagnostics on their lines", async () => {
    await page.goto(`${server.url}/#/runbooks`);
    await page.waitForSelector("#runbook-markdown");
    await page.fill(
      "#runbook-markdown",
      "# Broken runbook\n\n## Main Steps\n- `rm -rf /tmp/cache` (severity: catastrophic, requires_approval: maybe)\n",
    );
    await page.click("#runbook-upload");
    await page.waitForSelector("#runbook-diagnostics .diagnostics li");
    expect(await page.locator('#runbook-diagnostics .code-line.has-error[data-line="4"]').count()).toBe(1);
    expect(await page.textContent("#runbook-diagnostics .diagnostics")).toContain("4:");
    await shot("runbooks");
    expect((page as Page & { errors: string[] }).errors).toEqual([]);
  });

  it("shows what a restart found of an interrupted step's process, and an approver skips the step there", async () => {
    const { engine } = server;
    const admin = { id: "admin", roles: ["admin" as const] };
    const { runbook } = await engine.runbooks.create(
      "# Interrupted in the browser\n\n## Main Steps\n- `echo gated` (name: gated, requires_approval: true)\n- `echo after` (name: after)\n",
      { actor: admin, status: "approved" },
    );
    const { ticket } = await engine.tickets.ingest(
      { title: "Interrupted step", environment: "prod", service: "db", source: "test" },
      { autoExecute: false },
    );
    const { session } = await engine.executions.start(ticket.id, runbook.id, { actor: admin });
    expect((await engine.executions.settled(session.id)).status).toBe("awaiting_approval");
    // As an engine restarted after a crash leaves it (the step was running; its group was reaped).
    const gated = (await engine.executions.get(session.id)).steps[0]!;
    await engine.storage.steps.update(gated.id, gated.version, {
      status: "interrupted",
      processCheck: {
        outcome: "killed at restart",
        reason: "process group 4242 was still running; it was killed",
        at: new Date().toISOString(),
      },
    });
    const stored = (await engine.storage.sessions.get(session.id))!;
    await engine.storage.sessions.update(session.id, stored.version, { status: "interrupted" });

    await page.goto(`${server.url}/#/executions/${session.id}`);
    const check = page.locator('[data-process-check="killed at restart"]');
    await check.waitFor();
    expect(await check.textContent()).toContain("process group 4242 was still running; it was killed");
    await page.locator(`[data-step="${gated.id}"] button`, { hasText: "Skip step" }).click();
    await expect.poll(() => page.textContent(".page-head .badge"), { timeout: 30_000 }).toBe("succeeded");
    expect((await engine.executions.get(session.id)).steps.map((s) => s.status)).toEqual([
      "skipped",
      "succeeded",
    ]);
    expect((page as Page & { errors: string[] }).errors).toEqual([]);
  });

  it("shows a not-found view with a way back for an unknown #/route, and a way back from an error view", async () => {
    await page.goto(`${server.url}/#/no-such-page`);
    // Signed in already when the earlier tests ran; otherwise sign in here.
    await page.waitForSelector("#shell:not([hidden]), #login:not([hidden])");
    if (await page.isVisible("#login")) {
      await page.fill("#login-token", adminToken);
      await page.click("#login-form button");
    }
    const notFound = page.locator('[data-view="not-found"]');
    await notFound.waitFor();
    expect(await notFound.locator("h2").textContent()).toBe("Page not found");
    expect(await notFound.textContent()).toContain("#/no-such-page");
    // No tab is marked as the current one: this is none of them.
    expect(await page.locator("#nav a.active").count()).toBe(0);
    await notFound.locator("a", { hasText: "Back to Tickets" }).click();
    await page.waitForURL(/#\/tickets$/);
    await page.waitForSelector('[data-view="not-found"]', { state: "detached" });

    // An error view (a ticket that does not exist) has the same way back.
    await page.goto(`${server.url}/#/tickets/987654`);
    const failed = page.locator('[data-view="error"]');
    await failed.waitFor();
    expect(await failed.locator("h2").textContent()).toBe("Something went wrong");
    await failed.locator("a", { hasText: "Back to Tickets" }).click();
    await page.waitForURL(/#\/tickets$/);
    await page.waitForSelector('[data-view="error"]', { state: "detached" });
  });
  it("keeps the next session signed in when a request of the one before is refused after sign-out", async () => {
    await page.goto(`${server.url}/#/approvals`);
    await page.waitForSelector("#shell:not([hidden]), #login:not([hidden])");
    if (await page.isVisible("#login")) {
      await page.fill("#login-token", adminToken);
      await page.click("#login-form button");
      await page.waitForSelector("#shell:not([hidden])");
    }
    // Hold the approvals list the admin's view asks for, sign out and in as someone else, then
    // answer the held request 401, as if the admin's token had been revoked meanwhile.
    let release: (() => Promise<void>) | undefined;
    const held = new Promise<void>((resolve) => {
      void page.route("**/api/v1/approvals?**", async (route) => {
        const auth = route.request().headers().authorization ?? "";
        if (auth !== `Bearer ${adminToken}` || release) return route.continue();
        release = () =>
          route.fulfill({ status: 401, json: { error: { code: "RW_ERR_AUTH", message: "revoked" } } });
        resolve();
      });
    });
    await page.goto(`${server.url}/#/tickets`);
    await page.goto(`${server.url}/#/approvals`);
    await held;
    const { token } = await server.adapter.tokens.create({ actor: "next-session", roles: ["viewer"] });
    await page.click("#logout");
    await page.fill("#login-token", token);
    await page.click("#login-form button");
    await page.waitForSelector("#shell:not([hidden])");
    await release?.();
    await page.unroute("**/api/v1/approvals?**");
    // A round trip later the next session is still the one shown.
    await page.evaluate("new Promise((r) => setTimeout(r, 300))");
    expect(await page.isVisible("#shell")).toBe(true);
    expect(await page.textContent("#whoami")).toContain("next-session");

    // Back to the admin.
    await page.click("#logout");
    await page.fill("#login-token", adminToken);
    await page.click("#login-form button");
    await page.waitForSelector("#shell:not([hidden])");
  });
});
