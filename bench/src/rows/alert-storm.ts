import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import autocannon from "autocannon";
import type { BenchRow } from "../harness.js";
import { defineRows } from "../harness.js";
import { now, prometheusToken, type ServerChild, startServer } from "../servers/remediation-client.js";
import { stormNotification } from "../servers/remediation-fixtures.js";

/**
 * Alert storm: Alertmanager webhook notifications (payload version 4, one firing alert each)
 * posted to `POST /api/v1/tickets/webhook/prometheus` at 10 connections, all but one post per
 * fingerprint a repeat (10,000 alerts of 100 fingerprints; quick: 2,000 of 20), round-robin so
 * repeats arrive while the first alert's remediation runs. Each fingerprint matches an approved
 * one-step runbook (`true` on the local connector, auto-executed). Dedupe must fold the repeats
 * into one ticket per fingerprint and single-flight must start at most one session per ticket:
 * goal "tickets = F, sessions ≤ F". The value is alerts/s from the first post until every post is
 * answered and every session has finished; the baseline is the same posts to a bare node:http
 * server answering 202.
 */
const connections = 10;

/** Posts `alerts` notifications, post i carrying fingerprint i mod `fingerprints`; returns its wall time. */
async function storm(url: string, alerts: number, fingerprints: number, headers: Record<string, string>) {
  let i = 0;
  const start = now();
  const result = await autocannon({
    url,
    connections,
    amount: alerts,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        setupRequest: (req) => ({ ...req, body: stormNotification(i++ % fingerprints) }),
      },
    ],
  });
  const end = now();
  if (result["2xx"] !== alerts || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${url}: ${result["2xx"]} of ${alerts} posts answered 2xx (${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts)`,
    );
  }
  return { start, end };
}

async function stopAll(children: ServerChild[]): Promise<void> {
  for (const child of children.splice(0)) await child.stop();
}

export default defineRows("Alert storm", async ({ quick }) => {
  const alerts = quick ? 2_000 : 10_000;
  const fingerprints = quick ? 20 : 100;
  const dir = mkdtempSync(join(tmpdir(), "rw-bench-storm-"));
  const children: ServerChild[] = [];
  try {
    const bare = await startServer("bare", dir);
    children.push(bare);
    const b = await storm(`http://127.0.0.1:${bare.port}/`, alerts, fingerprints, {});
    const baselineMs = b.end - b.start;
    await stopAll(children);

    const server = await startServer("runwarden", dir);
    children.push(server);
    const url = `http://127.0.0.1:${server.port}/api/v1/tickets/webhook/prometheus`;
    const r = await storm(url, alerts, fingerprints, { authorization: `Bearer ${prometheusToken}` });
    const drained = await server.drain();
    const lastFinish = Math.max(r.end, ...drained.finished.map(([, at]) => at));
    const drainMs = lastFinish - r.start;
    await stopAll(children);

    // What the storm left in the file: every alert must be counted (occurrences), none lost.
    const store = createSqliteStorage({ path: join(dir, "bench.db") });
    const tickets = await store.tickets.find({ where: { source: "prometheus" } });
    const sessions = await store.sessions.find({});
    await store.close();
    const occurrences = tickets.reduce((sum, t) => sum + t.occurrences, 0);
    const perFingerprint = new Map<string, number>();
    for (const t of tickets) perFingerprint.set(t.fingerprint, (perFingerprint.get(t.fingerprint) ?? 0) + 1);
    const byStatus = new Map<string, number>();
    for (const s of sessions) byStatus.set(s.status, (byStatus.get(s.status) ?? 0) + 1);

    const problems: string[] = [];
    if (drained.timedOut)
      problems.push(`${drained.created - drained.finished.length} sessions still running after 120 s`);
    if (occurrences !== alerts)
      problems.push(`LOST WORK: ${occurrences} occurrences recorded for ${alerts} alerts`);
    if (perFingerprint.size !== fingerprints)
      problems.push(`${perFingerprint.size} distinct fingerprints stored for ${fingerprints}`);
    // Without a session per ticket the storm never tested single-flight: no remediation ran.
    if (sessions.length < tickets.length)
      problems.push(`${tickets.length - sessions.length} tickets never remediated (no session)`);
    if (sessions.length !== drained.created)
      problems.push(`${sessions.length} sessions stored, ${drained.created} created`);
    const met = tickets.length === fingerprints && sessions.length <= fingerprints && problems.length === 0;
    const statuses = [...byStatus].map(([s, n]) => `${n} ${s}`).join(", ") || "none";
    const row: BenchRow = {
      name: `alert storm: ${alerts.toLocaleString("en-US")} Alertmanager alerts, ${fingerprints} fingerprints (SQLite) vs bare 202`,
      unit: "alerts/s",
      value: (alerts / drainMs) * 1000,
      baseline: (alerts / baselineMs) * 1000,
      ratio: baselineMs / drainMs,
      goal: `tickets = ${fingerprints}, sessions ≤ ${fingerprints}`,
      met,
      note: [
        `${tickets.length} tickets (${occurrences} occurrences), ${sessions.length} sessions (${statuses})`,
        `drained in ${(drainMs / 1000).toFixed(2)} s (posts answered in ${((r.end - r.start) / 1000).toFixed(2)} s) vs bare ${(baselineMs / 1000).toFixed(2)} s`,
        `${connections} connections, no warm-up`,
        ...problems,
      ].join("; "),
    };
    return [row];
  } finally {
    await stopAll(children).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
