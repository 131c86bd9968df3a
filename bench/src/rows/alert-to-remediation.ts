import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { type BenchRow, defineRows, percentile, throughputRow } from "../harness.js";
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
    const p = (side: Side, n: number) => ms(percentile(side.latencies, n));
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
    if (lost.length > 0) for (const row of rows) row.met = false;
    return rows;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
