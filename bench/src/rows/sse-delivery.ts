import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";
import { type BenchRow, defineRows, median, percentile, spreadNote } from "../harness.js";
import { now } from "../servers/remediation-protocol.js";
import type { SseAnswer, SseCommand } from "../servers/sse-server.js";

/**
 * SSE delivery: `GET /events` with 50 clients connected (the dashboards of a team), each event a
 * line of step output (~260 bytes of frame). Three servers, each in a child process: the
 * adapter's node:http fast path, the adapter's Hono route (what Express and Fastify mounts use),
 * and a bare node:http server writing the same frames to its open responses. The clients live in
 * this process. Per round and server:
 * - throughput: events emitted in bursts of 100 as fast as they are delivered (two bursts in
 *   flight), events delivered per second over all clients;
 * - latency: events emitted open loop at a fixed rate, each carrying its due time; p99 of due →
 *   received over every delivery (the clock is shared: epoch ms, sub-ms resolution).
 * The servers take turns, the order reversed every round; each row is the median of the
 * per-round ratios to bare. Goals: throughput >= 0.5 of bare, p99 <= 2x bare.
 */
const serverScript = join(import.meta.dirname, "..", "servers", "sse-server.ts");
const clientsPerServer = 50;
const burst = 100;
const ratePerSecond = 400;

type Mode = "fast" | "hono" | "bare";

interface Server {
  mode: Mode;
  child: ChildProcess;
  port: number;
  token: string;
  /** Resolves with the child's next answer. */
  next(): Promise<SseAnswer>;
}

function startServer(mode: Mode): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, serverScript, mode], {
      stdio: ["ignore", "pipe", "inherit", "ipc"],
    });
    const waiting: ((m: SseAnswer) => void)[] = [];
    child.on("message", (m: SseAnswer) => waiting.shift()?.(m));
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ready (\d+) (\S+)/.exec(out);
      if (match) {
        resolve({
          mode,
          child,
          port: Number(match[1]),
          token: match[2]!,
          next: () => new Promise((r) => waiting.push(r)),
        });
      }
    });
    child.on("exit", (code) => reject(new Error(`sse ${mode} server exited with ${code}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** The clients of one server: what they received, counted as it arrives. */
interface Audience {
  delivered: number;
  /** Due → received of every delivery while recording, ms. */
  latencies: number[] | null;
  /** Called after each chunk: a waiter checks its target. */
  progress: (() => void) | null;
  /** Set when a stream ended or failed: the server dropped a client. */
  failure: Error | null;
  close(): void;
}

const marker = '"chunk":"t=';

async function connect(server: Server): Promise<Audience> {
  const audience: Audience = {
    delivered: 0,
    latencies: null,
    progress: null,
    failure: null,
    close: () => {
      for (const r of requests) r.destroy();
    },
  };
  const requests: ReturnType<typeof request>[] = [];
  const fail = (err: Error) => {
    audience.failure ??= err;
    audience.progress?.();
  };
  await Promise.all(
    Array.from(
      { length: clientsPerServer },
      () =>
        new Promise<void>((resolve, reject) => {
          const req = request(
            `http://127.0.0.1:${server.port}/api/v1/events?types=step:output`,
            { agent: false, headers: { authorization: `Bearer ${server.token}` } },
            (res) => {
              if (res.statusCode !== 200) {
                reject(new Error(`sse ${server.mode}: GET /events answered ${res.statusCode}`));
                return;
              }
              res.setEncoding("utf8");
              let tail = "";
              let connected = false;
              res.on("data", (chunk: string) => {
                const received = now();
                const text = tail + chunk;
                const cut = text.lastIndexOf("\n\n");
                if (cut === -1) {
                  tail = text;
                  return;
                }
                tail = text.slice(cut + 2);
                if (!connected) {
                  connected = true;
                  resolve();
                }
                let at = text.indexOf(marker);
                while (at !== -1 && at < cut) {
                  audience.delivered++;
                  if (audience.latencies) {
                    const start = at + marker.length;
                    audience.latencies.push(received - Number(text.slice(start, text.indexOf(";", start))));
                  }
                  at = text.indexOf(marker, at + marker.length);
                }
                audience.progress?.();
              });
              res.on("end", () => fail(new Error(`sse ${server.mode}: a stream ended`)));
              res.on("error", fail);
            },
          );
          req.on("error", (err) => {
            reject(err);
            fail(err);
          });
          req.end();
          requests.push(req);
        }),
    ),
  );
  return audience;
}

/** Resolves once `target` deliveries in all have arrived (rejects if a stream was dropped). */
function deliveredAll(audience: Audience, target: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (audience.failure) {
        audience.progress = null;
        reject(audience.failure);
      } else if (audience.delivered >= target) {
        audience.progress = null;
        resolve();
      }
    };
    audience.progress = check;
    check();
  });
}

/** The server's CPU time so far, µs. */
async function cpu(server: Server): Promise<number> {
  const answer = server.next();
  server.child.send({ type: "cpu" } satisfies SseCommand);
  const a = await answer;
  if (a.type !== "cpu") throw new Error(`sse ${server.mode}: expected a cpu answer, got ${a.type}`);
  return a.micros;
}

/**
 * `bursts` bursts, two in flight: events delivered per second (all clients), and the server's
 * CPU time per delivery (µs): the figure a busy machine moves least.
 */
async function throughput(
  server: Server,
  audience: Audience,
  bursts: number,
): Promise<{ rate: number; cpuPerDelivery: number }> {
  const start = audience.delivered;
  const perBurst = burst * clientsPerServer;
  const command: SseCommand = { type: "burst", count: burst };
  const cpu0 = await cpu(server);
  const t0 = now();
  let sent = 0;
  const fire = () => {
    sent++;
    server.child.send(command);
    void server.next();
  };
  fire();
  fire();
  for (let b = 0; b < bursts; b++) {
    await deliveredAll(audience, start + (b + 1) * perBurst);
    if (sent < bursts) fire();
  }
  const rate = (bursts * perBurst) / ((now() - t0) / 1000);
  return { rate, cpuPerDelivery: ((await cpu(server)) - cpu0) / (bursts * perBurst) };
}

/** p99 of due → received at the fixed rate (ms), and the emitter's worst lag. */
async function latency(server: Server, audience: Audience, seconds: number): Promise<number> {
  const total = Math.round(ratePerSecond * seconds) * clientsPerServer;
  const start = audience.delivered;
  audience.latencies = [];
  const command: SseCommand = { type: "rate", perSecond: ratePerSecond, seconds };
  const emitted = server.next();
  server.child.send(command);
  await emitted;
  await deliveredAll(audience, start + total);
  const p99 = percentile(audience.latencies, 99);
  audience.latencies = null;
  return p99;
}

interface Figures {
  rate: number[];
  p99: number[];
  cpu: number[];
}

export default defineRows("SSE delivery", async ({ quick }) => {
  const rounds = quick ? 3 : 8;
  const bursts = quick ? 10 : 40;
  const seconds = quick ? 0.5 : 2;
  const servers = await Promise.all((["fast", "hono", "bare"] as const).map(startServer));
  const audiences = new Map<Mode, Audience>();
  try {
    for (const server of servers) audiences.set(server.mode, await connect(server));
    const figures: Record<Mode, Figures> = {
      fast: { rate: [], p99: [], cpu: [] },
      hono: { rate: [], p99: [], cpu: [] },
      bare: { rate: [], p99: [], cpu: [] },
    };
    for (let r = -1; r < rounds; r++) {
      // Turns alternate: fast, hono, bare, then bare, hono, fast (-1 is the unrecorded warm-up).
      const order = r % 2 === 0 ? servers : [...servers].reverse();
      for (const server of order) {
        const audience = audiences.get(server.mode)!;
        // The warm-up round is shorter: it only has to get the code hot.
        const t = await throughput(server, audience, r < 0 ? Math.ceil(bursts / 2) : bursts);
        const p99 = await latency(server, audience, r < 0 ? seconds / 2 : seconds);
        if (r < 0) continue;
        figures[server.mode].rate.push(t.rate);
        figures[server.mode].cpu.push(t.cpuPerDelivery);
        figures[server.mode].p99.push(p99);
      }
    }
    const rows: BenchRow[] = [];
    const shape = `${clientsPerServer} clients, bursts of ${burst} events; p99 at ${ratePerSecond} events/s (x${clientsPerServer} deliveries), open loop; ${rounds} rounds`;
    for (const mode of ["fast", "hono"] as const) {
      const path = mode === "fast" ? "node:http fast path" : "Hono route (Express/Fastify mounts)";
      const rateRatios = figures[mode].rate.map((v, i) => v / figures.bare.rate[i]!);
      const p99Ratios = figures[mode].p99.map((v, i) => v / figures.bare.p99[i]!);
      const rate = median(rateRatios);
      const p99 = median(p99Ratios);
      rows.push({
        name: `SSE delivery throughput, ${path} vs bare node:http`,
        unit: "events/s",
        value: median(figures[mode].rate),
        baseline: median(figures.bare.rate),
        ratio: rate,
        goal: ">= 0.5",
        met: rate >= 0.5,
        note: `${shape}; server CPU per delivery ${median(figures[mode].cpu).toFixed(2)} µs vs ${median(figures.bare.cpu).toFixed(2)} µs bare; ${spreadNote(rateRatios)}`,
      });
      rows.push({
        name: `SSE emit→receive p99, ${path} vs bare node:http`,
        unit: "ms",
        value: median(figures[mode].p99),
        baseline: median(figures.bare.p99),
        ratio: p99,
        goal: "<= 2",
        met: p99 <= 2,
        note: `${shape}; ${spreadNote(p99Ratios)}`,
      });
    }
    return rows;
  } finally {
    for (const audience of audiences.values()) audience.close();
    await Promise.all(servers.map((s) => stop(s.child)));
  }
});
