/**
 * The example server started in-process with a third-party connector loaded by configuration
 * (RUNWARDEN_CONNECTORS=runwarden-connector-grafana): it is listed with the monitoring
 * connectors, and a signed Grafana webhook becomes tickets while an unsigned one is refused.
 */
import { createHmac } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";

const adminToken = "server-test-admin-token-0123";
const grafanaSecret = "grafana-hmac-secret-for-the-server-test";
const webhookSecret = "generic-webhook-secret-for-the-server-test";
/** The example body of Grafana's webhook notifier documentation (two firing alerts). */
const payload = readFileSync(new URL("./fixtures/grafana-webhook.json", import.meta.url), "utf8");

let server: RunningServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "rw-server-"));
  const config = readConfig({
    PORT: "0",
    RUNWARDEN_DATA_DIR: dataDir,
    RUNWARDEN_ADMIN_TOKEN: adminToken,
    RUNWARDEN_WEBHOOK_SECRET: webhookSecret,
    RUNWARDEN_CONNECTORS: "runwarden-connector-grafana",
    RUNWARDEN_CONNECTOR_CONFIG_GRAFANA: JSON.stringify({ auth: { type: "hmac", secret: grafanaSecret } }),
    RUNWARDEN_MONITORING_POLL_GRAFANA: JSON.stringify({ intervalMs: 30_000 }),
  });
  server = await startServer(config, pino({ level: "silent" }));
});

afterAll(async () => {
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

interface TicketWire {
  source: string;
  title: string;
  external_id: string | null;
  severity: string;
  service: string;
}

/** A GET of the API as the admin. */
async function api<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  return { status: res.status, body: (await res.json()) as T };
}

describe("startServer", () => {
  it("lists a connector loaded by RUNWARDEN_CONNECTORS among the monitoring connectors", async () => {
    const { status, body } = await api<{ items: { name: string }[] }>("/connectors/monitoring");
    expect(status).toBe(200);
    const grafana = body.items.find((c) => c.name === "grafana");
    expect(grafana).toMatchObject({
      name: "grafana",
      version: "0.1.0",
      capabilities: ["webhook", "verify-webhook"],
    });
  });

  it("polls every monitoring connector with its RUNWARDEN_MONITORING_POLL_<NAME> settings", async () => {
    const { body } = await api<{ items: { name: string; poller: Record<string, unknown> | null }[] }>(
      "/connectors/monitoring",
    );
    // Grafana's connector cannot pull nor acknowledge: its poller is there, and off.
    expect(body.items.find((c) => c.name === "grafana")?.poller).toMatchObject({
      source: "grafana",
      interval_ms: 30_000,
      enabled: false,
      acknowledge: false,
      next_run_at: null,
    });
  });

  it("turns a signed Grafana webhook into tickets when the signature matches the configured secret", async () => {
    const signature = createHmac("sha256", grafanaSecret).update(payload).digest("hex");
    const post = (headers: Record<string, string>) =>
      fetch(`${server.url}/api/v1/tickets/webhook/grafana`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: payload,
      });

    const forged = await post({ "x-grafana-alerting-signature": "0".repeat(64) });
    expect(forged.status).toBe(401);
    await forged.body?.cancel();

    const accepted = await post({ "x-grafana-alerting-signature": signature });
    expect(accepted.status).toBe(202);
    const result = (await accepted.json()) as { tickets: { id: number; deduplicated: boolean }[] };
    expect(result.tickets).toHaveLength(2);
    const tickets = await Promise.all(result.tickets.map((t) => api<TicketWire>(`/tickets/${t.id}`)));
    expect(tickets.map((t) => [t.body.source, t.body.title, t.body.external_id])).toEqual([
      ["grafana", "High memory usage", "c6eadffa33fcdf37"],
      ["grafana", "High CPU usage", "bc97ff14869b13e3"],
    ]);
    expect(tickets[1]?.body).toMatchObject({ severity: "critical", service: "api" });
  });

  it("shows *** wherever a local step prints the server's own secrets", async () => {
    const key = readFileSync(join(dataDir, "master.key"), "utf8").trim();
    // A file any user may read, so the step reads it whichever OS user it runs as.
    const dir = mkdtempSync(join(tmpdir(), "rw-leak-"));
    chmodSync(dir, 0o755);
    const leak = join(dir, "leak.txt");
    writeFileSync(leak, [adminToken, key, webhookSecret, grafanaSecret, ""].join("\n"));
    chmodSync(leak, 0o644);
    try {
      const engine = server.engine;
      const { ticket } = await engine.tickets.ingest(
        {
          title: "leak",
          description: "",
          severity: "low",
          environment: "prod",
          service: "x",
          source: "test",
        },
        { autoExecute: false },
      );
      const { runbook } = await engine.runbooks.create(
        `# Leak\n\n## Main Steps\n- \`cat ${leak}\` (name: cat)\n- \`cat ${leak} >&2; exit 4\` (name: err)\n`,
        { actor: { id: "author", roles: ["admin"] }, status: "approved" },
      );
      const { session } = await engine.executions.start(ticket.id, runbook.id, {
        actor: { id: "alice", roles: ["operator"] },
      });
      await engine.executions.settled(session.id);
      const { status, body } = await api<{ steps: { name: string; stdout: string; stderr: string }[] }>(
        `/executions/${session.id}`,
      );
      expect(status).toBe(200);
      expect(body.steps.map((step) => [step.name, step.stdout, step.stderr])).toEqual([
        ["cat", "***\n***\n***\n***\n", ""],
        ["err", "", "***\n***\n***\n***\n"],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers any /api path no endpoint serves with a JSON 404, GET or POST, signed in or not", async () => {
    for (const path of ["/api", "/api/", "/api/nope", "/api/v2/tickets", "/api/v1/no-such-endpoint"]) {
      for (const method of ["GET", "POST"]) {
        const signedOut: Record<string, string> = {};
        for (const headers of [signedOut, { authorization: `Bearer ${adminToken}` }]) {
          const res = await fetch(`${server.url}${path}`, {
            method,
            headers: { ...headers, ...(method === "POST" ? { "content-type": "application/json" } : {}) },
            ...(method === "POST" ? { body: "{}" } : {}),
          });
          const what = `${method} ${path} ${"authorization" in headers ? "signed in" : "anonymous"}`;
          expect(res.status, what).toBe(404);
          expect(res.headers.get("content-type"), what).toMatch(/^application\/json/);
          const body = (await res.json()) as { error: { code: string; message: string } };
          expect(body.error.code, what).toBe("RW_ERR_INPUT_NO_ROUTE");
        }
      }
    }
    // The dashboard is still served for its own paths.
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
  });

  it("keeps the data folder 0700 and the key, the database and its WAL files 0600", async () => {
    const mode = (file: string) => (statSync(join(dataDir, file)).mode & 0o777).toString(8);
    expect(mode(".")).toBe("700");
    for (const file of ["master.key", "runwarden.db", "runwarden.db-wal", "runwarden.db-shm"]) {
      expect(existsSync(join(dataDir, file))).toBe(true);
      expect(mode(file)).toBe("600");
    }
  });
});
