/**
 * The monitoring poller against a real Alertmanager (scripts/services/alertmanager.sh:
 * 127.0.0.1:9093). An engine pulls the alert, runs the matching runbook to success, and so
 * queues an acknowledge (a silence) and a resolve (expire it); the process stops before
 * delivering them. A new engine on the same SQLite file delivers both, once: Alertmanager ends up
 * with exactly one silence for the alert, created through POST /api/v2/silences and expired
 * through DELETE /api/v2/silence/{id}. A third start changes nothing.
 *
 * With RUNWARDEN_IT=1 a missing Alertmanager fails the test; without it the test is skipped.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEngine, type Engine, type MonitoringPollOptions } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { afterAll, describe, expect, it } from "vitest";
import prometheus from "../../packages/connectors/prometheus/src/index.js";

const AM = process.env.RUNWARDEN_AM_URL ?? "http://127.0.0.1:9093";
const required = process.env.RUNWARDEN_IT === "1";

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

interface Silence {
  id: string;
  createdBy: string;
  comment: string;
  status: { state: string };
  matchers: { name: string; value: string }[];
}

// Alertmanager keeps alerts and silences between runs: every run has its own alert and author.
const run = randomUUID().slice(0, 8);
const alertname = `RunwardenPoll_${run}`;
const createdBy = `runwarden-e2e-${run}`;
const dir = mkdtempSync(join(tmpdir(), "rw-e2e-am-poll-"));
const path = join(dir, "runwarden.db");
const runbook = `---
match:
  keywords: [queue backlog]
auto_execute: true
connection: local
---
# Drain the queue

## Main Steps
- \`echo draining\` (name: drain, severity: safe)
`;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function engineOn(monitoring: MonitoringPollOptions): Promise<Engine> {
  return createEngine({
    storage: createSqliteStorage({ path }),
    vault: { key: Buffer.alloc(32, 7) },
    connectors: [
      {
        connector: prometheus,
        config: {
          webhookAuth: { type: "none" },
          url: AM,
          pull: { filter: [`alertname="${alertname}"`] },
          silence: { createdBy, durationMs: 600_000 },
        },
      },
    ],
    monitoring: { prometheus: { idleMs: 50, ...monitoring } },
  });
}

async function silences(): Promise<Silence[]> {
  const res = await fetch(`${AM}/api/v2/silences?filter=${encodeURIComponent(`alertname="${alertname}"`)}`);
  return ((await res.json()) as Silence[]).filter((s) => s.createdBy === createdBy);
}

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached: ${JSON.stringify(value).slice(0, 400)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("monitoring poller → real Alertmanager", () => {
  it("creates one silence and expires it, once, when the engine restarts between enqueue and delivery", async (ctx) => {
    ctx.skip(!ready, `Alertmanager does not answer at ${AM}`);
    const posted = await fetch(`${AM}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        {
          labels: { alertname, severity: "critical", instance: `queue-${run}:9100`, env: "e2e" },
          annotations: { summary: `Queue backlog on queue-${run}` },
          startsAt: new Date().toISOString(),
        },
      ]),
    });
    expect(posted.status).toBe(200);

    // First engine: pulls, runs the runbook to success, queues both calls, delivers nothing.
    const first = await engineOn({ manual: true });
    await first.runbooks.create(runbook, { actor: { id: "author", roles: ["admin"] }, status: "approved" });
    await first.start();
    const poller = first.monitoring.poller("prometheus")!;
    await until(
      async () => (await poller.poll({ force: true })).alerts,
      (alerts) => alerts === 1,
    );
    const [ticket] = (await first.tickets.list({ source: "prometheus" })).items;
    expect(ticket?.title).toBe(`Queue backlog on queue-${run}`);
    await until(
      () => first.tickets.get(ticket!.id),
      (t) => t.status === "resolved",
    );
    await until(
      () => poller.status(),
      (s) => s.pendingActions === 2,
    );
    expect(await silences()).toEqual([]);
    await first.close();

    // Second engine, same file, pulling off: delivers the acknowledge, then the resolve.
    const second = await engineOn({ enabled: false });
    await second.start();
    try {
      await until(
        () => second.monitoring.poller("prometheus")!.status(),
        (s) => s.pendingActions === 0,
      );
    } finally {
      await second.close();
    }
    const [silence, ...more] = await silences();
    expect(more).toEqual([]);
    expect(silence!.status.state).toBe("expired");
    expect(silence!.comment).toContain(`Runwarden ticket #${ticket!.id}`);
    expect(silence!.matchers).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: "alertname", value: alertname })]),
    );

    // A third start has nothing left to deliver.
    const third = await engineOn({ enabled: false });
    await third.start();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await third.monitoring.poller("prometheus")!.status()).toMatchObject({
      pendingActions: 0,
      deadActions: 0,
    });
    await third.close();
    expect((await silences()).map((s) => s.status.state)).toEqual(["expired"]);
  });
});
