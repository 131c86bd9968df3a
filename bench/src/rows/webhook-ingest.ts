import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import autocannon from "autocannon";
import { defineRows, interleave, median, spreadNote, throughputRow } from "../harness.js";

/**
 * Webhook ingest through the HTTP adapter: POST /tickets/webhook/generic on SQLite, each 2xx only
 * after the ticket is durable, against a bare node:http server answering 202 to the same load
 * (1 KB JSON bodies, each a distinct alert). Both servers run in a child process; autocannon
 * drives them from this one, alternating between them round by round; the row is the median of the
 * per-round ratios. Goal: adapter throughput >= 0.35 of bare.
 */
const secret = "bench-webhook-secret-0123456789";
const serverScript = join(import.meta.dirname, "..", "servers", "webhook-server.ts");

function startServer(mode: "bare" | "adapter", dir: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    // The same loader and conditions as this process (tsx; workspace sources when so resolved).
    const child = spawn(process.execPath, [...process.execArgv, serverScript, mode, dir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ready (\d+)/.exec(out);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.on("exit", (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

function body(i: number): string {
  const ticket = {
    title: `Disk usage above 90% on web-${i % 997}.internal (alert ${i})`,
    description: `Filesystem /var on web-${i % 997}.internal is 93% full, growing 2GB/h. `
      .repeat(11)
      .slice(0, 860),
    severity: "high",
    environment: "prod",
    service: "nginx",
    external_id: `ALERT-${i}`,
  };
  return JSON.stringify(ticket);
}

/** Distinct alerts across every run against one store (a repeat would be folded, not stored). */
let sent = 0;

async function load(port: number, seconds: number, connections: number) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/api/v1/tickets/webhook/generic`,
    connections,
    duration: seconds,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json", "x-runwarden-webhook-secret": secret },
        setupRequest: (req: Record<string, unknown>) => ({ ...req, body: body(sent++) }),
      },
    ],
  });
  const ok = result["2xx"];
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`webhook bench: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  return { rps: result.requests.average, p99: result.latency.p99, ok };
}

export default defineRows("Webhook ingest", async ({ quick }) => {
  const seconds = quick ? 1.5 : 3;
  const rounds = quick ? 4 : 8;
  const connections = 10;
  const dir = mkdtempSync(join(tmpdir(), "rw-bench-webhook-"));
  try {
    const bare = await startServer("bare", dir);
    const adapter = await startServer("adapter", dir);
    let answered = 0;
    const p99s: { ours: number[]; bare: number[] } = { ours: [], bare: [] };
    try {
      await load(bare.port, 1, connections); // warm-up
      answered += (await load(adapter.port, quick ? 3 : 5, connections)).ok; // warm-up: JIT, SQLite pages
      // Both servers stay up; the load alternates between them (ABAB, order swapped every
      // round) so a busy moment on the machine lands on both alike.
      const result = await interleave(
        async () => {
          const r = await load(adapter.port, seconds, connections);
          answered += r.ok;
          p99s.ours.push(r.p99);
          return r.rps;
        },
        async () => {
          const r = await load(bare.port, seconds, connections);
          p99s.bare.push(r.p99);
          return r.rps;
        },
        { rounds, warmup: 0 },
      );
      await stop(adapter.child);
      await stop(bare.child);

      // Every 2xx was a stored ticket (or, with the intake queue acknowledging once durable, a
      // delivery still queued when the server stopped): count them in the file the server wrote.
      const store = createSqliteStorage({ path: join(dir, "bench.db") });
      const stored = await store.tickets.count();
      const queued = (await store.intakeDepth()).entries;
      await store.close();
      if (stored + queued < answered)
        throw new Error(`webhook bench: ${answered} accepted but ${stored} tickets stored, ${queued} queued`);

      const row = throughputRow(
        "webhook ingest (generic, SQLite) vs bare node:http 202",
        "req/s",
        median(result.ours),
        median(result.baseline),
        0.35,
        `p99 ${median(p99s.ours)} ms vs ${median(p99s.bare)} ms; ${connections} connections, ${rounds} rounds of ${seconds} s each; ${stored} tickets stored; ${spreadNote(result.ratios)}`,
      );
      return [{ ...row, ratio: result.ratio, met: result.ratio >= 0.35 }];
    } finally {
      if (adapter.child.exitCode === null) adapter.child.kill("SIGTERM");
      if (bare.child.exitCode === null) bare.child.kill("SIGTERM");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
