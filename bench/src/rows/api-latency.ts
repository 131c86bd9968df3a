import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import autocannon from "autocannon";
import { Client } from "undici";
import { type BenchRow, defineRows, percentile } from "../harness.js";
import { type ServerChild, startServer, webhookSecret } from "../servers/remediation-client.js";
import { diskAlert, memoryAlert } from "../servers/remediation-fixtures.js";

/**
 * API latency during a storm: while 10,000 distinct alerts (quick: 1,000) are posted to
 * `POST /api/v1/tickets/webhook/generic` at 10 connections, closed loop (as fast as the server
 * answers), a dashboard-like client on its own keep-alive connection reads
 * `GET /api/v1/tickets?limit=50` and `GET /api/v1/approvals?status=pending&limit=50` in turn, a
 * request every 10 ms, with a viewer API token from the server's token store (`Authorization:
 * Bearer`, as the example server authenticates). Nine alerts in ten auto-execute a one-step `true`
 * runbook; every tenth starts a session that waits at an approval, so the approvals list is
 * real. Value: each route's p99 during the storm (request sent → body read); baseline: the same
 * route's p99 once the storm has drained, on the same data. Goal: p99 <= 50 ms. Every read must
 * answer 200 and every alert must be stored, or the row fails.
 */
const connections = 10;
const routes = {
  tickets: "/api/v1/tickets?limit=50",
  approvals: "/api/v1/approvals?status=pending&limit=50",
} as const;
type Route = keyof typeof routes;

export default defineRows("API latency during a storm", async ({ quick }) => {
  const alerts = quick ? 1_000 : 10_000;
  const gated = Math.floor(alerts / 10);
  const idleSamples = quick ? 50 : 200;
  const dir = mkdtempSync(join(tmpdir(), "rw-bench-api-storm-"));
  let server: ServerChild | undefined;
  let reader: Client | undefined;
  try {
    server = await startServer("runwarden", dir);
    const token = server.viewerToken;
    if (!token) throw new Error("the runwarden server sent no viewer token");
    const origin = `http://127.0.0.1:${server.port}`;
    reader = new Client(origin, { pipelining: 1 });
    const failures: string[] = [];
    const get = async (route: Route): Promise<number> => {
      const start = performance.now();
      const res = await reader!.request({
        path: routes[route],
        method: "GET",
        headers: { authorization: `Bearer ${token}`, accept: "application/json" },
      });
      await res.body.arrayBuffer();
      const ms = performance.now() - start;
      if (res.statusCode !== 200) failures.push(`GET ${routes[route]}: HTTP ${res.statusCode}`);
      return ms;
    };
    // Warm-up: the routes' code, the token cache.
    for (let i = 0; i < 20; i++) await get(i % 2 === 0 ? "tickets" : "approvals");

    const during: Record<Route, number[]> = { tickets: [], approvals: [] };
    let storming = true;
    const poll = (async () => {
      for (let i = 0; storming; i++) {
        const route: Route = i % 2 === 0 ? "tickets" : "approvals";
        during[route].push(await get(route));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    let i = 0;
    const stormStart = performance.now();
    let storm: Awaited<ReturnType<typeof autocannon>>;
    try {
      storm = await autocannon({
        url: `${origin}/api/v1/tickets/webhook/generic`,
        connections,
        amount: alerts,
        requests: [
          {
            method: "POST",
            headers: { "content-type": "application/json", "x-runwarden-webhook-secret": webhookSecret },
            setupRequest: (req) => {
              const k = i++;
              return { ...req, body: k % 10 === 9 ? memoryAlert(k) : diskAlert(k) };
            },
          },
        ],
      });
    } finally {
      // autocannon's result is a thenable without `finally`.
      storming = false;
      await poll.catch(() => {});
    }
    const stormSeconds = (performance.now() - stormStart) / 1000;
    await poll;
    if (storm["2xx"] !== alerts) {
      failures.push(
        `${storm["2xx"]} of ${alerts} alerts answered 2xx (${storm.non2xx} non-2xx, ${storm.errors} errors)`,
      );
    }
    const drained = await server.drain();
    if (drained.timedOut) failures.push("sessions still running 120 s after the storm");
    if (drained.awaitingApproval !== gated)
      failures.push(`${drained.awaitingApproval} sessions waiting at an approval, expected ${gated}`);

    // The same reads on the same data, once the storm is over.
    const idle: Record<Route, number[]> = { tickets: [], approvals: [] };
    for (let k = 0; k < idleSamples * 2; k++) {
      const route: Route = k % 2 === 0 ? "tickets" : "approvals";
      idle[route].push(await get(route));
    }
    await reader.close();
    reader = undefined;
    await server.stop();
    server = undefined;

    const store = createSqliteStorage({ path: join(dir, "bench.db") });
    const stored = await store.tickets.count();
    await store.close();
    if (stored !== alerts) failures.push(`LOST WORK: ${stored} tickets stored for ${alerts} alerts`);

    const problems = [...new Set(failures)].slice(0, 3);
    const rows: BenchRow[] = (Object.keys(routes) as Route[]).map((route) => {
      const p99 = percentile(during[route], 99);
      const idle99 = percentile(idle[route], 99);
      return {
        name: `GET ${routes[route]} p99 during a ${alerts.toLocaleString("en-US")}-alert storm (SQLite) vs idle`,
        unit: "ms p99",
        value: p99,
        baseline: idle99,
        ratio: p99 / idle99,
        goal: "p99 <= 50 ms",
        met: p99 <= 50 && failures.length === 0,
        note: [
          `p50 ${percentile(during[route], 50).toFixed(1)} ms, ${during[route].length} reads during the storm (${(alerts / stormSeconds).toFixed(0)} alerts/s for ${stormSeconds.toFixed(1)} s, ${connections} connections); idle p50 ${percentile(idle[route], 50).toFixed(1)} ms`,
          `viewer token; ${gated} sessions waiting at an approval`,
          ...(failures.length > 0 ? [`${failures.length} failures: ${problems.join("; ")}`] : []),
        ].join("; "),
      };
    });
    return rows;
  } finally {
    await reader?.close().catch(() => {});
    await server?.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
