/**
 * The monitoring poller inside a real engine, against the fake Datadog API: pulls on a schedule
 * with a cursor kept in the store, folds pulled alerts with webhook ones, backs off as a 429 asks,
 * and acknowledges (a downtime) and resolves (cancels it) exactly once across restarts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import datadog from "../../../connectors/datadog/src/index.js";
import {
  type FakeDatadog,
  type FakeMonitorGroup,
  fakeDatadog,
} from "../../../connectors/datadog/test/fake-datadog.js";
import { createSqliteStorage } from "../../../storage-sqlite/src/index.js";
import { createEngine, type Engine } from "../../src/engine.js";
import type { Storage } from "../../src/storage.js";
import type { MonitoringPollOptions } from "../../src/sync/monitoring.js";

const API_KEY = "dd-api-key-0123456789abcdef";
const APP_KEY = "dd-app-key-fedcba9876543210";
const SECRET = "dd-webhook-shared-secret-123";
const author = { id: "author", roles: ["admin" as const] };

const highCpu: FakeMonitorGroup = {
  monitor_id: 148275309,
  monitor_name: "High CPU on {{host.name}}",
  group: "host:web-01",
  group_tags: ["host:web-01", "env:prod", "service:checkout"],
  status: "Alert",
};

let fake: FakeDatadog;
let dir: string;
const engines: Engine[] = [];

beforeEach(async () => {
  fake = await fakeDatadog({ apiKey: API_KEY, applicationKey: APP_KEY });
  dir = mkdtempSync(join(tmpdir(), "rw-monitoring-"));
});

afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An engine with the Datadog connector; `monitoring: null` polls nothing (no poller listens). */
async function engineOn(storage: Storage, monitoring: MonitoringPollOptions | null): Promise<Engine> {
  const engine = await createEngine({
    storage,
    vault: { key: Buffer.alloc(32, 7) },
    connectors: [
      {
        connector: datadog,
        config: {
          webhookAuth: { type: "header", secret: SECRET },
          apiUrl: fake.url,
          apiKey: API_KEY,
          applicationKey: APP_KEY,
        },
      },
    ],
    monitoring: monitoring === null ? {} : { datadog: { idleMs: 50, ...monitoring } },
  });
  engines.push(engine);
  return engine;
}

async function until<T>(
  read: () => Promise<T> | T,
  ok: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached: ${JSON.stringify(value).slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function closeEngine(engine: Engine): Promise<void> {
  engines.splice(engines.indexOf(engine), 1);
  await engine.close();
}

describe("createEngine monitoring", () => {
  it("pulls on its schedule and keeps the cursor across a restart on the same SQLite file", async () => {
    const path = join(dir, "runwarden.db");
    fake.groups = [highCpu];
    const first = await engineOn(createSqliteStorage({ path }), { intervalMs: 400, acknowledge: false });
    await first.start();
    const pulled = await until(
      () => first.monitoring.poller("datadog")!.status(),
      (s) => s.cursor !== null,
    );
    expect(pulled).toMatchObject({
      enabled: true,
      intervalMs: 400,
      lastError: null,
      failures: 0,
      lastAlerts: 1,
    });
    const firstFrom = Number(fake.requestsTo("GET", "/api/v2/events")[0]!.query.get("filter[from]"));
    // No cursor yet: the first pull looks back the connector's window (an hour).
    expect(Date.parse(pulled.cursor!) - firstFrom).toBeGreaterThan(3_500_000);
    await closeEngine(first);

    const second = await engineOn(createSqliteStorage({ path }), { intervalMs: 400, acknowledge: false });
    const kept = await second.monitoring.poller("datadog")!.status();
    expect(kept.cursor).not.toBeNull();
    const before = fake.requestsTo("GET", "/api/v2/events").length;
    await second.start();
    // A whole pull of the second engine: its events request asked from the kept cursor.
    await until(
      () => second.monitoring.poller("datadog")!.status(),
      (s) => s.lastRunAt !== kept.lastRunAt && s.lastError === null,
    );
    const events = fake.requestsTo("GET", "/api/v2/events");
    expect(Number(events[before]!.query.get("filter[from]"))).toBe(Date.parse(kept.cursor!));
    const { items } = await second.tickets.list({ source: "datadog" });
    expect(items).toHaveLength(1);
    expect(items[0]!.occurrences).toBeGreaterThanOrEqual(2);
  });

  it("folds a pulled alert into the ticket its webhook opened", async () => {
    fake.groups = [highCpu];
    const engine = await engineOn(createSqliteStorage({ path: ":memory:" }), {
      manual: true,
      acknowledge: false,
    });
    await engine.start();
    const body = JSON.parse(
      readFileSync(
        join(import.meta.dirname, "../../../connectors/datadog/test/fixtures/datadog-webhook.json"),
        "utf8",
      ),
    ) as unknown;
    const hook = await engine.tickets.ingestWebhook("datadog", {
      headers: { "x-runwarden-webhook-secret": SECRET },
      body,
      rawBody: JSON.stringify(body),
    });
    expect(hook.tickets[0]!.deduplicated).toBe(false);

    const result = await engine.monitoring.poller("datadog")!.poll();
    expect(result).toMatchObject({ outcome: "pulled", alerts: 1, created: 0, deduplicated: 1 });
    const { items } = await engine.tickets.list({ source: "datadog" });
    expect(items.map((t) => [t.id, t.occurrences])).toEqual([[hook.tickets[0]!.ticket.id, 2]]);
  });

  it("waits out a 429's Retry-After before pulling again and leaves the cursor where it was", async () => {
    fake.groups = [highCpu];
    const engine = await engineOn(createSqliteStorage({ path: ":memory:" }), {
      manual: true,
      intervalMs: 1_000,
      acknowledge: false,
    });
    await engine.start();
    const poller = engine.monitoring.poller("datadog")!;
    fake.rateLimit(1, 30);
    expect((await poller.poll()).outcome).toBe("failed");
    const failed = await poller.status();
    expect(failed.lastError).toMatch(/^RW_ERR_CONNECTOR_RATE_LIMITED/);
    expect(failed.failures).toBe(1);
    expect(failed.cursor).toBeNull();
    expect(Date.parse(failed.nextRunAt!) - Date.parse(failed.lastRunAt!)).toBeGreaterThanOrEqual(30_000);
    expect((await poller.poll()).outcome).toBe("not-due");
    expect(fake.requestsTo("GET", "/api/v2/events")).toHaveLength(1);

    expect((await poller.poll({ force: true })).outcome).toBe("pulled");
    expect(await poller.status()).toMatchObject({ failures: 0, lastError: null });
  });
});

describe("createEngine monitoring acknowledge and resolve", () => {
  /**
   * A first engine pulls the alert, runs the matching runbook to success and so enqueues the
   * acknowledge and the resolve; it never delivers them (manual) and stops: the process is gone
   * between enqueue and delivery. Returns the SQLite path.
   */
  async function enqueueAndStop(): Promise<string> {
    const path = join(dir, "runwarden.db");
    fake.groups = [highCpu];
    const engine = await engineOn(createSqliteStorage({ path }), { manual: true });
    await engine.runbooks.create(
      "---\nmatch:\n  keywords: [high cpu]\nauto_execute: true\n---\n# Calm the CPU\n\n## Main Steps\n- `echo calmed` (name: calm)\n",
      { actor: author, status: "approved" },
    );
    await engine.start();
    await engine.monitoring.poller("datadog")!.poll();
    const [ticket] = (await engine.tickets.list({ source: "datadog" })).items;
    await until(
      () => engine.tickets.get(ticket!.id),
      (t) => t.status === "resolved",
    );
    await until(
      () => engine.monitoring.poller("datadog")!.status(),
      (s) => s.pendingActions === 2,
    );
    expect(fake.downtimes).toHaveLength(0);
    await closeEngine(engine);
    return path;
  }

  it("acknowledges real sessions on its own source's tickets only, and nothing when acknowledge is off", async () => {
    fake.groups = [highCpu];
    const engine = await engineOn(createSqliteStorage({ path: ":memory:" }), { manual: true });
    const { runbook } = await engine.runbooks.create(
      "# Calm the CPU\n\n## Main Steps\n- `echo calmed` (name: calm, requires_approval: true)\n",
      { actor: author, status: "approved" },
    );
    await engine.start();
    const poller = engine.monitoring.poller("datadog")!;
    await poller.poll();
    const [alert] = (await engine.tickets.list({ source: "datadog" })).items;
    const { ticket: other } = await engine.tickets.ingest(
      { title: "High CPU on batch-01", source: "csv" },
      { autoExecute: false },
    );
    const actions = async () =>
      (await engine.storage.outbox.find({ where: { target: "monitoring:datadog" } })).map((r) => [
        r.ticketId,
        r.kind,
      ]);

    await engine.executions.start(alert!.id, runbook.id, { actor: author, dryRun: true });
    await engine.executions.start(other.id, runbook.id, { actor: author });
    await poller.settled();
    expect(await actions()).toEqual([]);
    await engine.executions.start(alert!.id, runbook.id, { actor: author });
    await poller.settled();
    expect(await actions()).toEqual([[alert!.id, "acknowledge"]]);
    expect(await poller.flush()).toBe(1);
    expect(fake.downtimes).toHaveLength(1);

    const quiet = await engineOn(createSqliteStorage({ path: ":memory:" }), {
      manual: true,
      acknowledge: false,
    });
    const { runbook: again } = await quiet.runbooks.create(
      "# Calm the CPU\n\n## Main Steps\n- `echo calmed` (name: calm, requires_approval: true)\n",
      { actor: author, status: "approved" },
    );
    await quiet.start();
    await quiet.monitoring.poller("datadog")!.poll();
    const [quietAlert] = (await quiet.tickets.list({ source: "datadog" })).items;
    await quiet.executions.start(quietAlert!.id, again.id, { actor: author });
    await quiet.monitoring.poller("datadog")!.settled();
    expect(await quiet.storage.outbox.count({ target: "monitoring:datadog" })).toBe(0);
    expect(await quiet.monitoring.poller("datadog")!.status()).toMatchObject({ acknowledge: false });
  });

  it("records the acknowledge and the resolve in the audit log with Datadog's description of each", async () => {
    const path = await enqueueAndStop();
    const engine = await engineOn(createSqliteStorage({ path }), { manual: true });
    await engine.start();
    expect(await engine.monitoring.poller("datadog")!.flush()).toBe(2);
    const { items } = await engine.audit.list({ objectType: "ticket", order: "asc" });
    const writes = items.filter((e) => e.action.startsWith("alert."));
    expect(writes.map((e) => [e.action, e.details.description])).toEqual([
      [
        "alert.acknowledged",
        "datadog: create a downtime muting monitor 148275309 on host:web-01 for 120 min",
      ],
      ["alert.resolved", "datadog: cancel Runwarden's downtimes on monitor 148275309 on host:web-01"],
    ]);
    expect(writes[0]!.details).toMatchObject({ target: "monitoring:datadog", operation: "acknowledge" });
    const text = JSON.stringify(items);
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(APP_KEY);
  });

  /** A process running the engine of fixtures/monitoring-child.ts on `path`. */
  function child(path: string): { proc: ChildProcess; done: Promise<string> } {
    const proc = spawn(
      process.execPath,
      [
        "--conditions=@runwarden/source",
        "--import",
        "tsx",
        join(import.meta.dirname, "fixtures/monitoring-child.ts"),
        path,
        fake.url,
      ],
      {
        cwd: import.meta.dirname,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, DD_API_KEY: API_KEY, DD_APP_KEY: APP_KEY },
      },
    );
    let out = "";
    proc.stdout!.on("data", (d) => {
      out += d;
    });
    proc.stderr!.on("data", (d) => {
      out += d;
    });
    const done = new Promise<string>((resolve) =>
      proc.on("exit", (code, signal) => resolve(`${code ?? signal}\n${out}`)),
    );
    return { proc, done };
  }

  it("catches up on a session started and a ticket resolved while no poller listened", async () => {
    const path = join(dir, "runwarden.db");
    const alert = {
      title: "High CPU on web-01",
      severity: "high" as const,
      source: "datadog",
      externalId: "148275309:host:web-01",
      fingerprint: "148275309:host:web-01",
      metaData: { monitorId: 148275309, scope: "host:web-01" },
    };
    const runbookText =
      "# Calm the CPU\n\n## Main Steps\n- `echo calmed` (name: calm, requires_approval: true)\n";

    // No poller: the session starts unacknowledged.
    const plain = await engineOn(createSqliteStorage({ path }), null);
    const { runbook } = await plain.runbooks.create(runbookText, { actor: author, status: "approved" });
    await plain.start();
    const { ticket } = (await plain.tickets.ingestAlerts("datadog", [alert])).tickets[0]!;
    const started = await plain.executions.start(ticket.id, runbook.id, { actor: author });
    await closeEngine(plain);

    const polling = await engineOn(createSqliteStorage({ path }), { manual: true, enabled: false });
    await polling.start();
    expect(await polling.monitoring.poller("datadog")!.flush()).toBe(1);
    expect(fake.downtimes.map((d) => d.attributes.status)).toEqual(["active"]);
    await closeEngine(polling);

    // No poller again: the approval lets the session succeed, and the ticket resolves unseen.
    const again = await engineOn(createSqliteStorage({ path }), null);
    await again.start();
    const [approval] = await until(
      async () => (await again.approvals.list({ status: "pending" })).items,
      (items) => items.length === 1,
    );
    expect(approval!.sessionId).toBe(started.session.id);
    await again.approvals.approve(approval!.id, { actor: { id: "alice", roles: ["approver"] } });
    await until(
      () => again.tickets.get(ticket.id),
      (t) => t.status === "resolved",
    );
    await closeEngine(again);

    const last = await engineOn(createSqliteStorage({ path }), { manual: true, enabled: false });
    await last.start();
    expect(await last.monitoring.poller("datadog")!.flush()).toBe(1);
    expect(fake.downtimes.map((d) => d.attributes.status)).toEqual(["canceled"]);
    expect([posts(), deletes()]).toEqual([1, 1]);
  });

  const posts = () => fake.requestsTo("POST", "/api/v2/downtime").length;
  const deletes = () => fake.server.requests.filter((r) => r.method === "DELETE").length;

  it("delivers an acknowledge and a resolve enqueued before a crash exactly once after the restart", async () => {
    const path = await enqueueAndStop();

    const second = await engineOn(createSqliteStorage({ path }), { enabled: false });
    await second.start();
    await until(
      () => second.monitoring.poller("datadog")!.status(),
      (s) => s.pendingActions === 0,
    );
    expect(fake.downtimes).toHaveLength(1);
    expect(fake.downtimes[0]!.attributes).toMatchObject({
      monitor_identifier: { monitor_id: 148275309 },
      scope: "host:web-01",
      status: "canceled",
    });
    expect([posts(), deletes()]).toEqual([1, 1]);
    await closeEngine(second);

    const third = await engineOn(createSqliteStorage({ path }), { enabled: false });
    await third.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([posts(), deletes()]).toEqual([1, 1]);
    expect(await third.monitoring.poller("datadog")!.status()).toMatchObject({
      pendingActions: 0,
      deadActions: 0,
    });
  });

  it("does not acknowledge twice when the process is SIGKILLed after Datadog applied the acknowledge", async () => {
    const path = await enqueueAndStop();

    // The downtime is created, but its answer is held back and the delivering process is killed
    // meanwhile: Datadog has the acknowledgement, the outbox row is still pending.
    fake.slowCreateMs = 30_000;
    const first = child(path);
    await until(
      () => fake.downtimes.length,
      (n) => n === 1,
      30_000,
    );
    first.proc.kill("SIGKILL");
    expect((await first.done).split("\n")[0]).toBe("SIGKILL");

    const second = child(path);
    expect(await second.done).toMatch(/^0\n[\s\S]*done/);
    expect(fake.downtimes.map((d) => d.attributes.status)).toEqual(["canceled"]);
    expect([posts(), deletes()]).toEqual([1, 1]);
  }, 60_000);
});
