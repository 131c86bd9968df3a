/**
 * The two servers of the webhook-ingest row, run in a child process so the load generator does
 * not share their event loop: `bare` answers 202 after reading the body; `adapter` is the
 * Runwarden API on SQLite. Prints `ready <port>` once listening; exits on SIGTERM.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createEngine } from "@runwarden/core";
import { createHttpAdapter, toNodeHandler } from "@runwarden/http-adapter";
import { createSqliteStorage } from "@runwarden/storage-sqlite";

const [mode, dir] = process.argv.slice(2);
/**
 * RUNWARDEN_BENCH_INTAKE: `off` (default: stored before the 202), or the intake queue in
 * `processed` or `durable` mode (bounds raised so the row's load is never refused).
 */
const intakeMode = process.env["RUNWARDEN_BENCH_INTAKE"] ?? "off";
/** RUNWARDEN_BENCH_FASTPATH=off: the webhook through Hono as every other route (for before/after). */
const fastPath = process.env["RUNWARDEN_BENCH_FASTPATH"] !== "off";
export const webhookSecret = "bench-webhook-secret-0123456789";

async function main(): Promise<void> {
  let server: ReturnType<typeof createServer>;
  let close = async () => {};
  if (mode === "bare") {
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(202, { "content-type": "application/json" }).end('{"accepted":true}');
      });
    });
  } else if (mode === "adapter") {
    const engine = await createEngine({
      storage: createSqliteStorage({ path: join(dir!, "bench.db") }),
      vault: { key: Buffer.alloc(32, 7) },
      ...(intakeMode === "processed" || intakeMode === "durable"
        ? { intake: { enabled: true, acknowledge: intakeMode, maxEntries: 1_000_000, maxBytes: 2 ** 31 - 1 } }
        : {}),
    });
    await engine.start();
    const adapter = createHttpAdapter({ engine, webhooks: { generic: { secret: webhookSecret } } });
    server = createServer(toNodeHandler(adapter, { fastPath }));
    close = async () => {
      adapter.close();
      await engine.close();
    };
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  server.keepAliveTimeout = 30_000;
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`);
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
