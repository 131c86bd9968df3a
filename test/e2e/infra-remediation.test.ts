/**
 * Issue 5, end to end on real infrastructure: a runbook whose precheck queries PostgreSQL, whose
 * main step runs over SSH and needs approval, and whose postcheck calls an HTTP health endpoint,
 * from ticket to resolution. The engine keeps its state in SQLite; the connectors are the real
 * postgres, ssh and http packages talking to PostgreSQL (a fresh database per run), the test sshd
 * (scripts/services/sshd.sh) and a node:http health server on loopback. A second scenario feeds a
 * shell and SQL injection attempt through the same runbook and checks nothing but the literal
 * value ever ran.
 */

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import http from "@runwarden/connector-http";
import postgres from "@runwarden/connector-postgres";
import ssh from "@runwarden/connector-ssh";
import { type Actor, createEngine, type Engine, type Ticket } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pgAdmin, probeInfraServices, type SshdFacts } from "./fixtures/infra-services.js";

const required = process.env.RUNWARDEN_IT === "1";
const services = await probeInfraServices();
if (required && services.missing.length > 0) {
  throw new Error(`RUNWARDEN_IT=1 but these services are down: ${services.missing.join("; ")}`);
}
const skipReason = services.missing.length > 0 ? `skipped: needs ${services.missing.join("; ")}` : undefined;

const runbookMarkdown = readFileSync(join(import.meta.dirname, "fixtures/infra-restart-worker.md"), "utf8");
const environment = "staging";
const runId = randomBytes(4).toString("hex");
const database = `rw_e2e_infra_${runId}`;
const healthToken = `health-token-${runId}`;

const sreLead: Actor = { id: "sre-lead", roles: ["admin"] };
const alice: Actor = { id: "alice", roles: ["operator", "approver"] };
const bob: Actor = { id: "bob", roles: ["approver"] };

interface SeenRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
}

/** The worker's health endpoint: answers `{"status":"healthy"}` and records every request. */
async function startHealthServer(): Promise<{ server: Server; port: number; requests: SeenRequest[] }> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push({ method: req.method ?? "", url, headers: req.headers });
    const healthy = url.pathname === "/health";
    res.writeHead(healthy ? 200 : 404, { "content-type": "application/json" });
    res.end(JSON.stringify(healthy ? { status: "healthy", service: url.searchParams.get("service") } : {}));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

const markerPath = (ticket: Ticket) => `/tmp/rw-e2e-marker-${ticket.externalId}`;

describe.skipIf(skipReason !== undefined)("infrastructure remediation (PostgreSQL → SSH → HTTP)", () => {
  let health: Awaited<ReturnType<typeof startHealthServer>>;
  let engine: Engine;
  let dir: string;
  const cleanup: string[] = [];

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`CREATE DATABASE ${database}`));
    await pgAdmin(async (client) => {
      await client.query("CREATE TABLE queue_depth (service text PRIMARY KEY, depth integer NOT NULL)");
      await client.query("INSERT INTO queue_depth VALUES ('billing-worker', 4213), ('mailer', 3)");
    }, database);
    health = await startHealthServer();
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => health?.server.close(() => resolve()));
    await pgAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  });

  beforeEach(async () => {
    const sshd = services.sshd as SshdFacts;
    dir = mkdtempSync(join(tmpdir(), "rw-e2e-infra-"));
    engine = await createEngine({
      storage: createSqliteStorage({ path: join(dir, "runwarden.db") }),
      vault: { key: randomBytes(32) },
      connectors: [postgres, ssh, http],
    });
    await engine.start();

    // The connector guide's bodies, with the field names the connector READMEs document.
    const pgCredential = await engine.credentials.create(
      {
        name: "staging-db-credentials",
        credentialType: "database",
        environment,
        username: "postgres",
        password: "unused-under-trust-auth",
        host: "127.0.0.1",
        port: 5432,
        database_name: database,
      },
      { actor: sreLead },
    );
    await engine.connections.create(
      {
        name: "infra-pg",
        connectionType: "database",
        credentialId: pgCredential.id,
        targetHost: "127.0.0.1",
        targetPort: 5432,
        targetService: "postgresql",
        environment,
      },
      { actor: sreLead },
    );
    const sshCredential = await engine.credentials.create(
      {
        name: "staging-ssh-key",
        credentialType: "ssh",
        environment,
        username: sshd.user,
        private_key: readFileSync(sshd.key, "utf8"),
      },
      { actor: sreLead },
    );
    await engine.connections.create(
      {
        name: "infra-ssh",
        connectionType: "ssh",
        credentialId: sshCredential.id,
        targetHost: sshd.host,
        targetPort: sshd.port,
        environment,
        options: { host_key_fingerprint: sshd.fingerprint },
      },
      { actor: sreLead },
    );
    const apiCredential = await engine.credentials.create(
      { name: "staging-health-token", credentialType: "api", environment, token: healthToken },
      { actor: sreLead },
    );
    await engine.connections.create(
      {
        name: "infra-health",
        connectionType: "api",
        credentialId: apiCredential.id,
        targetHost: "127.0.0.1",
        targetPort: health.port,
        environment,
        options: { scheme: "http" },
      },
      { actor: sreLead },
    );
  });

  afterEach(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
    for (const path of cleanup.splice(0)) rmSync(path, { force: true });
  });

  it("runs the runbook from ticket to resolution when an approver other than the starter approves the SSH step", async () => {
    const sshd = services.sshd as SshdFacts;
    const { runbook } = await engine.runbooks.create(runbookMarkdown, { actor: sreLead, status: "approved" });
    const { ticket } = await engine.tickets.ingest({
      title: "billing-worker queue stalled",
      description: "Consumer lag keeps growing: queue stalled since 09:12",
      severity: "high",
      environment,
      service: "billing-worker",
      source: "prometheus",
      externalId: `alert-${runId}-ok`,
    });
    cleanup.push(markerPath(ticket));
    expect(ticket.analysis?.decision).toMatchObject({ action: "auto_execute", runbookId: runbook.id });

    // The analyzer started the session itself.
    const sessions = (await engine.executions.list({ ticketId: ticket.id })).items;
    expect(sessions).toHaveLength(1);
    const sessionId = sessions[0]!.id;
    expect(sessions[0]!.startedBy).toBe("engine");

    // The precheck ran on PostgreSQL, its ticket value bound as a parameter; then the session waits.
    expect((await engine.executions.settled(sessionId)).status).toBe("awaiting_approval");
    const waiting = await engine.executions.get(sessionId);
    const precheck = waiting.steps.find((s) => s.name === "queue-depth");
    expect(precheck).toMatchObject({ phase: "prechecks", status: "succeeded", exitCode: 0 });
    expect(precheck?.stdout).toContain("billing-worker");
    expect(precheck?.stdout).toContain("4213");
    expect(precheck?.stdout).not.toContain("mailer");
    expect(existsSync(markerPath(ticket))).toBe(false);

    const [approval] = (await engine.approvals.list({ status: "pending", sessionId })).items;
    expect(approval).toMatchObject({
      stepName: "restart-worker",
      risk: "medium_risk",
      renderedCommand: `printf '%s\\n' 'billing-worker' | tee -- /tmp/rw-e2e-marker-'${ticket.externalId}' >/dev/null && echo restarted 'billing-worker'`,
      ticketTitle: "billing-worker queue stalled",
      startedBy: "engine",
    });
    expect(approval?.target).toBe(`infra-ssh (ssh ${sshd.host}:${sshd.port})`);

    const requestsBefore = health.requests.length;
    await engine.approvals.approve(approval!.id, { actor: alice, comment: "restart it" });
    const done = await engine.executions.settled(sessionId);
    expect(done.status).toBe("succeeded");

    // The SSH step really ran through the sshd: the marker belongs to the remote login, not to us.
    expect(readFileSync(markerPath(ticket), "utf8")).toBe("billing-worker\n");
    expect(statSync(markerPath(ticket)).uid).toBe(
      Number(execFileSync("id", ["-u", sshd.user], { encoding: "utf8" })),
    );
    const detail = await engine.executions.get(sessionId);
    expect(detail.steps.map((s) => [s.phase, s.name, s.status, s.exitCode])).toEqual([
      ["prechecks", "queue-depth", "succeeded", 0],
      ["main", "restart-worker", "succeeded", 0],
      ["postchecks", "worker-health", "succeeded", 0],
    ]);
    expect(detail.steps[1]?.stdout).toBe("restarted billing-worker\n");

    // The postcheck reached the health server with the connection's credential.
    const seen = health.requests.slice(requestsBefore);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: "GET" });
    expect(seen[0]?.url.pathname).toBe("/health");
    expect(seen[0]?.url.searchParams.get("service")).toBe("billing-worker");
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${healthToken}`);
    expect(detail.steps[2]?.stdout).toContain('"status":"healthy"');

    expect((await engine.tickets.get(ticket.id)).status).toBe("resolved");

    const chain = (await engine.audit.list({ order: "asc", limit: 1000 })).items
      .filter((e) => e.objectType === "session" || e.objectType === "approval")
      .map((e) => [e.actor, e.action]);
    expect(chain).toEqual([
      ["engine", "session.started"],
      ["engine", "approval.requested"],
      ["alice", "approval.approved"],
      ["engine", "session.finished"],
    ]);
    // Nothing secret leaked into what a person sees.
    const visible = JSON.stringify([detail, await engine.audit.list({ limit: 1000 })]);
    expect(visible).not.toContain(healthToken);
    expect(visible).not.toContain("PRIVATE KEY");
  });

  it("renders an injection attempt in the ticket's service as data when it reaches SQL, the shell and a URL", async () => {
    const canary = `/tmp/rw-pwned-${runId}`;
    const hostile = `x'; touch ${canary}; '`;
    cleanup.push(canary);
    const { runbook } = await engine.runbooks.create(runbookMarkdown, { actor: sreLead, status: "approved" });
    const { ticket } = await engine.tickets.ingest(
      {
        title: "worker queue stalled",
        severity: "high",
        environment,
        service: hostile,
        source: "prometheus",
        externalId: `alert-${runId}-evil`,
      },
      { autoExecute: false },
    );
    cleanup.push(markerPath(ticket));

    const { session } = await engine.executions.start(ticket.id, runbook.id, { actor: alice });
    expect((await engine.executions.settled(session.id)).status).toBe("awaiting_approval");
    // SQL: the value was bound, so the statement ran and matched no row (and the table is intact).
    const precheck = (await engine.executions.get(session.id)).steps[0];
    expect(precheck).toMatchObject({ name: "queue-depth", status: "succeeded", exitCode: 0 });
    expect(precheck?.stdout).toContain("(0 rows)");
    const rows = await pgAdmin(
      (client) => client.query("SELECT count(*)::int AS n FROM queue_depth"),
      database,
    );
    expect(rows.rows[0]).toEqual({ n: 2 });

    // Shell: the approver sees the value as one single-quoted word.
    const [approval] = (await engine.approvals.list({ status: "pending", sessionId: session.id })).items;
    const quoted = `'x'\\''; touch ${canary}; '\\'''`;
    expect(approval?.renderedCommand).toBe(
      `printf '%s\\n' ${quoted} | tee -- /tmp/rw-e2e-marker-'${ticket.externalId}' >/dev/null && echo restarted ${quoted}`,
    );
    await expect(engine.approvals.approve(approval!.id, { actor: bob })).resolves.toMatchObject({
      status: "approved",
    });
    expect((await engine.executions.settled(session.id)).status).toBe("succeeded");

    // The command ran, printed the hostile text literally, and never executed it.
    expect(readFileSync(markerPath(ticket), "utf8")).toBe(`${hostile}\n`);
    expect(existsSync(canary)).toBe(false);
    // HTTP: the value travelled URL-encoded and arrived intact as one query parameter.
    const last = health.requests[health.requests.length - 1];
    expect(last?.url.pathname).toBe("/health");
    expect(last?.url.searchParams.get("service")).toBe(hostile);
  });
});

if (skipReason !== undefined) {
  // Outside CI a missing service skips the scenarios; the skipped test's name says why.
  describe("infrastructure remediation (services missing)", () => {
    it.skip(skipReason, () => {});
  });
}
