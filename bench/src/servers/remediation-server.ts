/**
 * The servers of the alert-to-remediation and alert-storm rows, run in a child process (an IPC
 * channel to the parent) so the load generator does not share their event loop:
 *
 * - `exec`: bare node:http that runs `sh -c true` (output piped, as a remediation step's is) per
 *   request and answers 202 once it has exited;
 * - `bare`: bare node:http answering 202 once the body is read;
 * - `runwarden`: the HTTP adapter over an engine on SQLite (`<dir>/bench.db`), with the generic
 *   webhook (shared secret) and the prometheus connector (bearer token), and two approved
 *   one-step runbooks (`true` on the local connector, auto-executed, no approval) matching the
 *   rows' alerts, plus one whose step waits for an approval (the API-latency row's memory
 *   alerts); an API token with the viewer role is created in its token store (as the example
 *   server's tokens are) and sent in the `ready` message.
 *
 * Protocol: the child sends `{ type: "ready", port, viewerToken? }`. The parent sends `{ type: "drain" }` once
 * its load has been answered; the runwarden child waits until every session it created has
 * finished or waits at an approval and answers
 * `{ type: "drained", created, awaitingApproval, finished: [externalId, atMs, status][] }`
 * (atMs on the `performance.timeOrigin + performance.now()` clock, shared by both processes).
 * The other modes answer `drained` at once. SIGTERM closes the server and the engine.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { cpuRunbook, diskRunbook, memoryRunbook } from "./remediation-fixtures.js";
import { type ChildMessage, now, prometheusToken, webhookSecret } from "./remediation-protocol.js";

const send = (message: ChildMessage) => process.send?.(message);

function spawnTrue(): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", "true"], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", () => {});
    child.stderr.on("data", () => {});
    child.on("error", reject);
    child.on("close", (code) => resolve(code));
  });
}

async function main(mode: string, dir: string): Promise<void> {
  let server: ReturnType<typeof createServer>;
  let viewerToken: string | undefined;
  let close = async () => {};
  let drain = async (): Promise<ChildMessage> => ({
    type: "drained",
    created: 0,
    awaitingApproval: 0,
    finished: [],
    timedOut: false,
  });

  if (mode === "bare") {
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(202, { "content-type": "application/json" }).end('{"accepted":true}');
      });
    });
  } else if (mode === "exec") {
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        spawnTrue().then(
          (code) =>
            res
              .writeHead(code === 0 ? 202 : 500, { "content-type": "application/json" })
              .end(`{"exit_code":${code}}`),
          () => res.writeHead(500).end(),
        );
      });
    });
  } else if (mode === "runwarden") {
    // Loaded here only: the bare modes stay bare processes (a spawn's cost grows with the
    // memory of the process that forks, so their baseline must not carry the engine's modules).
    const [
      { default: prometheus },
      { createEngine },
      { createHttpAdapter, createTokenStore, toNodeHandler },
      { createSqliteStorage },
    ] = await Promise.all([
      import("@runwarden/connector-prometheus"),
      import("@runwarden/core"),
      import("@runwarden/http-adapter"),
      import("@runwarden/storage-sqlite"),
    ]);
    const engine = await createEngine({
      storage: createSqliteStorage({ path: join(dir, "bench.db") }),
      vault: { key: Buffer.alloc(32, 7) },
      connectors: [
        { connector: prometheus, config: { webhookAuth: { type: "bearer", token: prometheusToken } } },
      ],
      // As many steps at once as the peers run `true` processes (one per connection).
      policy: { maxConcurrentSessions: 10, maxConcurrentPerConnection: 10 },
    });
    const actor = { id: "bench", roles: ["admin" as const] };
    await engine.runbooks.create(diskRunbook, { actor, status: "approved" });
    await engine.runbooks.create(cpuRunbook, { actor, status: "approved" });
    await engine.runbooks.create(memoryRunbook, { actor, status: "approved" });
    await engine.start();

    let created = 0;
    const finished: [number, number, string][] = [];
    // Sessions waiting at an approval (the memory runbook's) are settled until someone approves.
    const awaiting = new Set<number>();
    let onFinish: () => void = () => {};
    const settled = () => finished.length + awaiting.size >= created;
    engine.events.on("session:created", () => {
      created++;
    });
    engine.events.on("approval:requested", (e) => {
      awaiting.add(e.sessionId);
      onFinish();
    });
    engine.events.on("session:finished", (e) => {
      awaiting.delete(e.sessionId);
      finished.push([e.ticketId, now(), e.status]);
      onFinish();
    });
    drain = async () => {
      let timedOut = false;
      if (!settled()) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            timedOut = true;
            resolve();
          }, 120_000);
          onFinish = () => {
            if (settled()) {
              clearTimeout(timer);
              resolve();
            }
          };
        });
      }
      // Measurement is over: now map ticket ids to the alert ids the parent timed the posts by.
      const ids = new Map<number, string>();
      for (const t of await engine.storage.tickets.find({})) ids.set(t.id, t.externalId ?? "");
      return {
        type: "drained",
        created,
        awaitingApproval: awaiting.size,
        finished: finished.map(([ticketId, at, status]) => [
          ids.get(ticketId) ?? `ticket ${ticketId}`,
          at,
          status,
        ]),
        timedOut,
      };
    };

    const tokens = createTokenStore(engine.storage);
    viewerToken = (await tokens.create({ actor: "bench-viewer", roles: ["viewer"] })).token;
    const adapter = createHttpAdapter({ engine, tokens, webhooks: { generic: { secret: webhookSecret } } });
    server = createServer(toNodeHandler(adapter));
    close = async () => {
      adapter.close();
      await engine.close();
    };
  } else {
    throw new Error(`unknown mode ${mode}`);
  }

  server.keepAliveTimeout = 30_000;
  server.listen(0, "127.0.0.1", () =>
    send({
      type: "ready",
      port: (server.address() as AddressInfo).port,
      ...(viewerToken ? { viewerToken } : {}),
    }),
  );
  process.on("message", (message: { type?: string }) => {
    if (message.type === "drain") void drain().then(send);
  });
  process.on("SIGTERM", () => {
    server.close();
    server.closeAllConnections();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
      },
    );
  });
}

const [mode, dir] = process.argv.slice(2);
main(mode ?? "", dir ?? ".").catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
