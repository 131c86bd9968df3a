/**
 * The servers of the sse-delivery row, each in its own child process so the clients (in the
 * parent) do not share their event loop. `bare`: node:http keeping its open responses in a Set
 * and writing each event's frame (built and encoded once) to every one. `fast` and `hono`: the
 * Runwarden API on an in-memory engine through `toNodeHandler(adapter, { fastPath })`, its
 * events emitted on the engine's bus. All three send the same frames for the same events.
 *
 * Prints `ready <port> <token>` once listening. Over IPC it takes `{ type: "burst", count }` (emit
 * `count` events at once, as fast as the bus takes them) and `{ type: "rate", perSecond,
 * seconds }` (emit at that rate, open loop: event k is due at start + k / rate and carries that
 * due time), answering `{ type: "emitted", count, lagMs }` when done; `{ type: "cpu" }` answers
 * the CPU time used so far. Exits on SIGTERM.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createEngine } from "@runwarden/core";
import { createHttpAdapter, toNodeHandler } from "@runwarden/http-adapter";
import { now } from "./remediation-protocol.js";

const mode = process.argv[2];

/** What a command asks for. */
export type SseCommand =
  | { type: "burst"; count: number }
  | { type: "rate"; perSecond: number; seconds: number }
  | { type: "cpu" };
/**
 * The answer to a command: how many events were emitted and the emitter's own worst lag behind
 * its clock; or the CPU time the process has used so far (µs, user + system).
 */
export type SseAnswer = { type: "emitted"; count: number; lagMs: number } | { type: "cpu"; micros: number };

/** A line of step output, as a runbook's command prints it: the event the dashboard streams most. */
const filler = " | INFO restart-db[4121]: checking replication lag on db-03.prod.internal: 0.4 s, ok".repeat(
  2,
);

/** The event's payload (core's camelCase): its output line carries the time it was due. */
function payload(k: number, due: number) {
  return {
    sessionId: 42,
    stepId: 7,
    stream: "stdout" as const,
    chunk: `t=${due.toFixed(3)};k=${k}${filler}`,
  };
}

async function main(): Promise<void> {
  let emit: (k: number, due: number) => void;
  let handler: (req: IncomingMessage, res: ServerResponse) => void;
  let token = "none";
  let close = async () => {};
  if (mode === "bare") {
    const open = new Set<ServerResponse>();
    let id = 0;
    handler = (req, res) => {
      if (!req.url?.startsWith("/api/v1/events")) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      res.write("retry: 3000\n: connected\n\n");
      open.add(res);
      res.on("close", () => open.delete(res));
    };
    emit = (k, due) => {
      id++;
      // The payload as the adapter's hub writes it: snake_case keys.
      const p = payload(k, due);
      const data = { session_id: p.sessionId, step_id: p.stepId, stream: p.stream, chunk: p.chunk };
      const frame = Buffer.from(`id: ${id}\nevent: step:output\ndata: ${JSON.stringify(data)}\n\n`);
      for (const res of open) res.write(frame);
    };
  } else if (mode === "fast" || mode === "hono") {
    const engine = await createEngine({ vault: { key: randomBytes(32) } });
    await engine.start();
    const adapter = createHttpAdapter({ engine });
    token = (await adapter.tokens.create({ actor: "bench-dashboard", roles: ["viewer"] })).token;
    handler = toNodeHandler(adapter, { fastPath: mode === "fast" });
    emit = (k, due) => engine.events.emit("step:output", payload(k, due));
    close = async () => {
      adapter.close();
      await engine.close();
    };
  } else {
    throw new Error(`unknown mode ${mode}`);
  }

  const send = (message: SseAnswer) => process.send?.(message);
  let k = 0;
  process.on("message", (command: SseCommand) => {
    if (command.type === "cpu") {
      const used = process.cpuUsage();
      send({ type: "cpu", micros: used.user + used.system });
      return;
    }
    if (command.type === "burst") {
      const at = now();
      for (let i = 0; i < command.count; i++) emit(k++, at);
      send({ type: "emitted", count: command.count, lagMs: 0 });
      return;
    }
    // Open loop: every millisecond, emit what has come due since the last tick.
    const total = Math.round(command.perSecond * command.seconds);
    const start = now() + 5;
    let done = 0;
    let lagMs = 0;
    const tick = () => {
      const t = now();
      while (done < total) {
        const due = start + (done * 1000) / command.perSecond;
        if (due > t) break;
        lagMs = Math.max(lagMs, t - due);
        emit(k++, due);
        done++;
      }
      if (done < total) setTimeout(tick, 1);
      else send({ type: "emitted", count: total, lagMs });
    };
    setTimeout(tick, 5);
  });

  const server = createServer(handler);
  server.keepAliveTimeout = 30_000;
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`ready ${(server.address() as AddressInfo).port} ${token}\n`);
  });
  process.on("SIGTERM", () => {
    server.close();
    server.closeAllConnections();
    close().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
