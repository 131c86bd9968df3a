/**
 * Issue 7 end to end: a real Alertmanager (scripts/services/alertmanager.sh: 127.0.0.1:9093, its
 * webhook receiver at 127.0.0.1:18080/api/v1/tickets/webhook/prometheus with a bearer token kept
 * in a file) and the example server started in-process on that port with the Prometheus
 * connector. An alert posted to Alertmanager comes back through Alertmanager's own webhook as a
 * ticket, its runbook runs by itself up to an approval; when the alert ends, Alertmanager's
 * resolved notification resolves the ticket and cancels the session that waited for approval.
 *
 * With RUNWARDEN_IT=1 a missing Alertmanager fails the test; without it the tests are skipped.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../../examples/server/src/config.js";
import { type RunningServer, startServer } from "../../examples/server/src/server.js";

const AM = process.env.RUNWARDEN_AM_URL ?? "http://127.0.0.1:9093";
const TOKEN_FILE = process.env.RUNWARDEN_AM_TOKEN_FILE ?? "/tmp/runwarden-alertmanager/webhook-token";
/** Where Alertmanager's webhook receiver points (fixed by scripts/services/alertmanager.sh). */
const PORT = 18080;
const required = process.env.RUNWARDEN_IT === "1";
const adminToken = `e2e-alertmanager-admin-${randomUUID()}`;
const runbook = readFileSync(new URL("./fixtures/alertmanager-runbook.md", import.meta.url), "utf8");

async function alertmanagerReady(): Promise<boolean> {
  try {
    const res = await fetch(`${AM}/-/ready`, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

const ready = await alertmanagerReady();
if (!ready && required) {
  throw new Error(
    `Alertmanager is required (RUNWARDEN_IT=1) but does not answer at ${AM}/-/ready: run scripts/services/alertmanager.sh`,
  );
}
const skipNote = `Alertmanager does not answer at ${AM}: run scripts/services/alertmanager.sh (RUNWARDEN_IT=1 makes this a failure)`;

/** Fails clearly when something (another test's receiver, a dev server) holds the webhook port. */
async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `127.0.0.1:${port} is in use (${err.code}): Alertmanager's webhook must reach this test's server there; stop whatever listens on it (another Alertmanager test running at the same time?)`,
        ),
      ),
    );
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

interface Wire {
  ticket: {
    id: number;
    source: string;
    title: string;
    description: string;
    severity: string;
    service: string;
    environment: string;
    status: string;
    status_reason: string | null;
    meta_data: Record<string, unknown>;
    analysis: { decision: { action: string; runbook_id: number | null; reason: string } } | null;
  };
  approval: {
    id: number;
    session_id: number;
    ticket_id: number;
    status: string;
    step_name: string;
    rendered_command: string;
    risk: string;
    target: string;
  };
  execution: {
    session: { id: number; status: string; started_by: string; error: string | null; runbook_id: number };
    steps: { phase: string; name: string; status: string; stdout: string }[];
  };
}

let server: RunningServer | undefined;
let dataDir: string | undefined;

async function api<T>(method: string, path: string, body?: { type: string; text: string }): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${PORT}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(body ? { "content-type": body.type } : {}),
    },
    ...(body ? { body: body.text } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** What the server holds, for a failure message: prometheus tickets and their sessions. */
async function serverState(): Promise<string> {
  const tickets = await api<{ items: Wire["ticket"][] }>("GET", "/tickets?source=prometheus&limit=20");
  const sessions = await api<{ items: Wire["execution"]["session"][] }>("GET", "/executions?limit=20");
  return JSON.stringify({
    tickets: tickets.items.map((t) => ({
      id: t.id,
      title: t.title,
      status: t.status,
      reason: t.status_reason,
      decision: t.analysis?.decision,
    })),
    sessions: sessions.items.map((s) => ({ id: s.id, status: s.status, error: s.error })),
  });
}

async function postAlerts(alerts: unknown[]): Promise<void> {
  const res = await fetch(`${AM}/api/v2/alerts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(alerts),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`Alertmanager refused the alert: ${res.status} ${text}`);
}

beforeAll(async () => {
  if (!ready) return;
  if (!existsSync(TOKEN_FILE)) {
    throw new Error(
      `${TOKEN_FILE} is missing: run scripts/services/alertmanager.sh (it writes the webhook token)`,
    );
  }
  const token = readFileSync(TOKEN_FILE, "utf8").trim();
  await assertPortFree(PORT);
  dataDir = mkdtempSync(join(tmpdir(), "rw-e2e-am-"));
  const config = readConfig({
    HOST: "127.0.0.1",
    PORT: String(PORT),
    RUNWARDEN_DATA_DIR: dataDir,
    RUNWARDEN_ADMIN_TOKEN: adminToken,
    RUNWARDEN_PROMETHEUS_TOKEN: token,
  });
  server = await startServer(config, pino({ level: "silent" }));
});

afterAll(async () => {
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("Alertmanager → example server (issue 7)", () => {
  // Alertmanager keeps its alerts between runs: every run uses its own alert.
  const run = randomUUID().slice(0, 8);
  const startsAt = new Date().toISOString();
  const alert = {
    labels: {
      alertname: `RunwardenE2E_${run}`,
      severity: "critical",
      service: "e2e-checkout",
      instance: `web-e2e-${run}:9100`,
      env: "e2e",
    },
    annotations: {
      summary: `Checkout latency above 2s on web-e2e-${run}`,
      description: "p99 checkout latency is 2.4s (threshold 2s) for 5 minutes",
    },
    startsAt,
    generatorURL: "http://127.0.0.1:9090/graph",
  };
  let ticketId = 0;
  let sessionId = 0;
  let approvalId = 0;

  it("runs the matching runbook up to its approval when Alertmanager's webhook creates the ticket", async (ctx) => {
    ctx.skip(!ready, skipNote);
    const uploaded = await api<{ runbook: { id: number; status: string } }>("POST", "/runbooks", {
      type: "text/markdown",
      text: runbook,
    });
    const approved = await api<{ id: number; status: string }>(
      "POST",
      `/runbooks/${uploaded.runbook.id}/approve`,
      { type: "application/json", text: "{}" },
    );
    expect(approved.status).toBe("approved");

    const started = performance.now();
    await postAlerts([alert]);
    let approval: Wire["approval"] | undefined;
    await expect
      .poll(
        async () => {
          const page = await api<{ items: Wire["approval"][] }>("GET", "/approvals?status=pending");
          approval = page.items.find((a) => a.rendered_command.startsWith("echo would restart"));
          return approval;
        },
        { timeout: 20_000, interval: 200 },
      )
      .toBeDefined()
      .catch(async (err: unknown) => {
        throw new Error(`no pending approval within 20 s; the server saw: ${await serverState()}`, {
          cause: err,
        });
      });
    const approvalMs = Math.round(performance.now() - started);
    if (!approval) throw new Error("unreachable: the poll found the approval");
    ({ id: approvalId, session_id: sessionId, ticket_id: ticketId } = approval);
    expect(approval).toMatchObject({
      status: "pending",
      step_name: "echo-would-restart",
      risk: "medium_risk",
    });
    expect(approval.rendered_command).toMatch(/^echo would restart '?e2e-checkout'?$/);

    const ticket = await api<Wire["ticket"]>("GET", `/tickets/${ticketId}`);
    expect(ticket).toMatchObject({
      source: "prometheus",
      title: alert.annotations.summary,
      description: alert.annotations.description,
      severity: "critical",
      service: "e2e-checkout",
      environment: "e2e",
      status: "executing",
    });
    expect(ticket.meta_data).toMatchObject({ alertname: alert.labels.alertname, host: `web-e2e-${run}` });
    expect(ticket.analysis?.decision).toMatchObject({ action: "auto_execute", runbook_id: approved.id });

    const execution = await api<Wire["execution"]>("GET", `/executions/${sessionId}`);
    expect(execution.session).toMatchObject({
      status: "awaiting_approval",
      started_by: "engine",
      runbook_id: approved.id,
    });
    expect(execution.steps.map((s) => [s.phase, s.status])).toEqual([
      ["prechecks", "succeeded"],
      ["main", "awaiting_approval"],
      ["postchecks", "pending"],
    ]);
    expect(execution.steps[0]?.stdout).toContain("checking e2e-checkout");
    console.log(`alert posted to Alertmanager → approval pending: ${approvalMs} ms`);
  });

  it("resolves the ticket and cancels the waiting session when Alertmanager sends the resolution", async (ctx) => {
    ctx.skip(!ready, skipNote);
    expect(sessionId, "the first test must have created the session").toBeGreaterThan(0);
    const started = performance.now();
    await postAlerts([{ ...alert, endsAt: new Date().toISOString() }]);
    await expect
      .poll(async () => (await api<Wire["ticket"]>("GET", `/tickets/${ticketId}`)).status, {
        timeout: 20_000,
        interval: 200,
      })
      .toBe("resolved");
    const resolvedMs = Math.round(performance.now() - started);

    const execution = await api<Wire["execution"]>("GET", `/executions/${sessionId}`);
    expect(execution.session.status).toBe("cancelled");
    expect(execution.session.error).toMatch(/the source resolved the ticket/);
    expect(execution.steps.find((s) => s.phase === "main")?.status).not.toBe("succeeded");
    expect(execution.steps.find((s) => s.phase === "postchecks")?.status).not.toBe("succeeded");

    const approval = await api<Wire["approval"]>("GET", `/approvals/${approvalId}`);
    expect(approval.status).not.toBe("pending");
    const pending = await api<{ items: Wire["approval"][] }>("GET", "/approvals?status=pending");
    expect(pending.items.map((a) => a.id)).not.toContain(approvalId);
    console.log(`alert ended in Alertmanager → ticket resolved, session cancelled: ${resolvedMs} ms`);
  });
});
