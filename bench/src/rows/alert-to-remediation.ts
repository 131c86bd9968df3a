import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { type BenchRow, defineRows, percentile, throughputRow } from "../harness.js";
import { openLoop } from "../open-loop.js";
import { startNodeRed } from "../peers/node-red.js";
import { countStored, now, startServer, webhookSecret } from "../servers/remediation-client.js";
import { diskAlert } from "../servers/remediation-fixtures.js";

/**
 * Alert to remediation, against peers: distinct alerts posted to a webhook endpoint, each
 * remediated by running `true`, measured as alerts fully remediated per second and p99 from
 * the post to the remediation's end, at 10 connections for the same time on each side.
 *
 * - Runwarden: `POST /api/v1/tickets/webhook/generic` on the HTTP adapter over SQLite; each alert
 *   is matched to an approved one-step runbook (`true` on the local connector, auto-executed, no
 *   approval). The 202 arrives once the ticket (and its session) is durable, so "remediated" is
 *   the engine's `session:finished` (succeeded) for that ticket, timed in the server process.
 *   Afterwards the SQLite file must hold one ticket, one succeeded session and one succeeded step
 *   per accepted alert; any shortfall is printed in the note and fails the row.
 * - Node-RED 4.1.8: http-in → exec `true` → http-response 202 (it stores nothing).
 * - bare node:http: runs `sh -c true` per request and answers 202 when it exits.
 *
 * Goals: at least 2× Node-RED and at least 0.7 of bare.
 *
 * Then latency at a fixed offered rate: half of Node-RED's throughput just measured, offered to
 * each side in turn (order rotating) by an open-loop generator (src/open-loop.ts: posts sent by
 * the clock, so a side that falls behind queues and its latencies show it). Latency is from each
 * alert's scheduled post to its remediation's end: Runwarden's `session:finished` (succeeded)
 * after its one durable step, the peers' 202 once `true` has exited. p50/p99 of all three in the
 * note; goal: Runwarden's p99 <= 2× Node-RED's p99. Every post must be answered 2xx and
 * remediated, or the row fails (the stored-work check above covers these alerts too).
 */
const connections = 10;

/** Every post of this process gets a new alert, so no two are folded by dedupe. */
let next = 0;

interface Burst {
  start: number;
  /** Answers received (2xx; anything else throws). */
  ok: number;
  /** Wall time of the burst (ms). */
  ms: number;
  /** When each alert (by external id) was handed to its connection. */
  sentAt: Map<string, number>;
  /** Post → answer of every answered request (ms). */
  answered: number[];
}

/** One burst of load: `connections` connections posting distinct alerts for `seconds`. */
async function burst(url: string, seconds: number, headers: Record<string, string>): Promise<Burst> {
  const sentAt = new Map<string, number>();
  const answered: number[] = [];
  const start = now();
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        setupRequest: (req, context) => {
          const i = next++;
          context.sentAt = now();
          sentAt.set(`ALERT-${i}`, context.sentAt as number);
          return { ...req, body: diskAlert(i) };
        },
        onResponse: (_status, _body, context) => {
          answered.push(now() - (context.sentAt as number));
        },
      },
    ],
  });
  const ms = now() - start;
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  return { start, ok: result["2xx"], ms, sentAt, answered };
}

/** A side's totals over its bursts: remediations, their wall time, and post → remediated latencies. */
interface Side {
  done: number;
  ms: number;
  latencies: number[];
}

const emptySide = (): Side => ({ done: 0, ms: 0, latencies: [] });
const rate = (side: Side) => (side.done / side.ms) * 1000;
const ms = (n: number) => `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;

export default defineRows("Alert to remediation", async ({ quick }) => {
  // Short bursts taken in turn (the order rotating each round), so a noisy neighbour on this
  // machine lands on every side alike; each side is the sum of its bursts.
  const rounds = quick ? 2 : 4;
  const seconds = quick ? 2 : 3;
  // The fixed-rate phase: turns per side and seconds per turn.
  const fixedRounds = quick ? 1 : 3;
  const fixedSeconds = quick ? 3 : 8;
  const dir = mkdtempSync(join(tmpdir(), "rw-bench-remediation-"));
  const stops: (() => Promise<void>)[] = [];
  try {
    // Node-RED first: its one-time install is the likeliest thing to fail, before anything is timed.
    const nodeRed = await startNodeRed();
    stops.push(nodeRed.stop);
    const exec = await startServer("exec", dir);
    stops.push(exec.stop);
    const server = await startServer("runwarden", dir);
    stops.push(server.stop);

    const rwUrl = `http://127.0.0.1:${server.port}/api/v1/tickets/webhook/generic`;
    const auth = { "x-runwarden-webhook-secret": webhookSecret };
    let accepted = 0;
    let sent = 0;
    let failed = 0;
    const sides = { nodeRed: emptySide(), bare: emptySide(), runwarden: emptySide() };

    const peerBurst = async (side: Side, url: string, secs: number) => {
      const b = await burst(url, secs, {});
      side.done += b.ok;
      side.ms += b.ms;
      side.latencies.push(...b.answered);
    };
    const runwardenBurst = async (side: Side, secs: number) => {
      const b = await burst(rwUrl, secs, auth);
      accepted += b.ok;
      sent += b.sentAt.size;
      // Remediated = the session finished; the burst ends when its last session has.
      const drained = await server.drain();
      let last = b.start + b.ms;
      for (const [externalId, at, status] of drained.finished) {
        const at0 = b.sentAt.get(externalId);
        if (at0 === undefined) continue;
        if (status !== "succeeded") {
          failed++;
          continue;
        }
        side.done++;
        side.latencies.push(at - at0);
        last = Math.max(last, at);
      }
      if (drained.timedOut) {
        throw new Error(
          `${drained.created - drained.finished.length} sessions still running 120 s after the load`,
        );
      }
      side.ms += last - b.start;
    };
    const nodeRedUrl = nodeRed.url;
    const execUrl = `http://127.0.0.1:${exec.port}/`;

    // Warm-up (JIT, SQLite pages, the runbook index), not counted.
    const scratch = emptySide();
    await peerBurst(scratch, nodeRedUrl, 1);
    await peerBurst(scratch, execUrl, 1);
    await runwardenBurst(scratch, quick ? 1 : 2);

    const order = [
      () => peerBurst(sides.nodeRed, nodeRedUrl, seconds),
      () => peerBurst(sides.bare, execUrl, seconds),
      () => runwardenBurst(sides.runwarden, seconds),
    ];
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < order.length; k++) await order[(round + k) % order.length]!();
    }

    // Latency at half Node-RED's measured maximum, open loop.
    const fixedStart = performance.now();
    const offered = rate(sides.nodeRed) / 2;
    const latency = { runwarden: [] as number[], nodeRed: [] as number[], bare: [] as number[] };
    const latencyFailures: string[] = [];
    let sendLag = 0;
    const peerAtRate = async (url: string, into: number[]) => {
      const r = await openLoop(url, {
        rate: offered,
        seconds: fixedSeconds,
        request: (k) => ({ id: String(k), body: diskAlert(next++) }),
      });
      into.push(...r.answered);
      latencyFailures.push(...r.failed);
      sendLag = Math.max(sendLag, r.sendLag);
    };
    const runwardenAtRate = async (into: number[]) => {
      const r = await openLoop(rwUrl, {
        rate: offered,
        seconds: fixedSeconds,
        headers: auth,
        request: () => {
          const i = next++;
          return { id: `ALERT-${i}`, body: diskAlert(i) };
        },
      });
      sent += r.due.size;
      accepted += r.answered.length;
      latencyFailures.push(...r.failed);
      sendLag = Math.max(sendLag, r.sendLag);
      const drained = await server.drain();
      if (drained.timedOut) throw new Error("sessions still running 120 s after the fixed-rate load");
      let remediated = 0;
      for (const [externalId, at, status] of drained.finished) {
        const due = r.due.get(externalId);
        if (due === undefined) continue;
        remediated++;
        if (status === "succeeded") into.push(at - due);
        else failed++;
      }
      if (remediated !== r.due.size)
        latencyFailures.push(`${r.due.size - remediated} alerts never remediated`);
    };
    const atRate = [
      () => peerAtRate(nodeRedUrl, latency.nodeRed),
      () => peerAtRate(execUrl, latency.bare),
      () => runwardenAtRate(latency.runwarden),
    ];
    for (let round = 0; round < fixedRounds; round++) {
      for (let k = 0; k < atRate.length; k++) await atRate[(round + k) % atRate.length]!();
    }
    process.stderr.write(
      `bench: fixed-rate phase (${offered.toFixed(0)}/s) done in ${((performance.now() - fixedStart) / 1000).toFixed(1)} s\n`,
    );
    while (stops.length > 0) await stops.pop()!();

    // Durability: everything acknowledged is in the file, each alert remediated exactly once.
    // autocannon stops at its deadline with up to one request per connection in flight: those
    // were sent and may be stored, but their answers are not counted.
    const stored = await countStored(dir);
    const lost: string[] = [];
    if (failed > 0) lost.push(`${failed} sessions did not succeed`);
    if (stored.tickets < accepted || stored.tickets > sent)
      lost.push(`${stored.tickets} tickets stored for ${accepted} accepted alerts (${sent} sent)`);
    if (stored.sessions !== stored.tickets)
      lost.push(`${stored.sessions} sessions for ${stored.tickets} tickets`);
    if (stored.sessionsSucceeded !== stored.sessions)
      lost.push(`${stored.sessions - stored.sessionsSucceeded} sessions not succeeded`);
    if (stored.steps !== stored.sessions || stored.stepsSucceeded !== stored.steps)
      lost.push(`${stored.stepsSucceeded}/${stored.steps} steps succeeded for ${stored.sessions} sessions`);
    const durable =
      lost.length === 0
        ? `durable: ${stored.tickets} tickets, ${stored.sessionsSucceeded} sessions and ${stored.stepsSucceeded} steps succeeded in SQLite`
        : `LOST WORK: ${lost.join("; ")}`;

    const ours = sides.runwarden;
    const p = (side: Side | number[], n: number) =>
      ms(percentile(Array.isArray(side) ? side : side.latencies, n));
    const common = `${connections} connections, ${rounds}×${seconds} s each; Runwarden p50 ${p(ours, 50)}, p99 ${p(ours, 99)} post → session finished (${ours.done} alerts)`;
    const rows: BenchRow[] = [
      throughputRow(
        "alert → remediation (webhook, SQLite, `true`) vs Node-RED 4.1.8",
        "alerts/s",
        rate(ours),
        rate(sides.nodeRed),
        2,
        `${common}; Node-RED p99 ${p(sides.nodeRed, 99)} (http-in → exec → 202, persists nothing); ${durable}`,
      ),
      throughputRow(
        "alert → remediation (webhook, SQLite, `true`) vs bare node:http",
        "alerts/s",
        rate(ours),
        rate(sides.bare),
        0.7,
        `${common}; bare p99 ${p(sides.bare, 99)} (spawn sh -c true per request, 202 on exit); ${durable}`,
      ),
    ];
    const rw99 = percentile(latency.runwarden, 99);
    const nr99 = percentile(latency.nodeRed, 99);
    const problems = [...new Set(latencyFailures)];
    rows.push({
      name: `alert → remediation p99 at half Node-RED's max, open loop (webhook, SQLite) vs Node-RED 4.1.8`,
      unit: "ms p99",
      value: rw99,
      baseline: nr99,
      ratio: rw99 / nr99,
      goal: "<= 2",
      met: rw99 / nr99 <= 2 && latencyFailures.length === 0,
      note: [
        `offered ${offered.toFixed(0)}/s (Node-RED max ${rate(sides.nodeRed).toFixed(0)}/s) for ${fixedRounds}×${fixedSeconds} s per side`,
        `p50/p99 post → remediated (Runwarden: session finished after its one step): Runwarden ${p(latency.runwarden, 50)}/${p(latency.runwarden, 99)} (${latency.runwarden.length} alerts, durable)`,
        `Node-RED ${p(latency.nodeRed, 50)}/${p(latency.nodeRed, 99)}`,
        `bare ${p(latency.bare, 50)}/${p(latency.bare, 99)}`,
        `generator lag max ${ms(sendLag)}`,
        ...(latencyFailures.length > 0
          ? [`${latencyFailures.length} failed: ${problems.slice(0, 3).join(", ")}`]
          : []),
        durable,
      ].join("; "),
    });
    if (lost.length > 0) for (const row of rows) row.met = false;
    return rows;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
