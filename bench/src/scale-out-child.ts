/**
 * One engine process of the scale-out row:
 * `scale-out-child.ts <database url> <instance id> [sessions at once, default 8]`.
 * Prints `{"ready":…}` once started, ingests each `{"ingest":[…]}` line read from stdin (auto-
 * execution on) and answers `{"ingested":n}`; SIGTERM closes the engine.
 */
import { createInterface } from "node:readline";
import { createEngine } from "@runwarden/core";
import { createPostgresStorage } from "@runwarden/storage-postgres";

const [url, instance, concurrency] = process.argv.slice(2) as [string, string, string | undefined];
const inFlight = Number(concurrency ?? 8);
const engine = await createEngine({
  storage: await createPostgresStorage({ connectionString: url, pool: { max: inFlight } }),
  instanceId: instance,
  vault: { key: Buffer.alloc(32, 5) },
  policy: { maxConcurrentSessions: inFlight, maxConcurrentPerConnection: inFlight },
});
await engine.start();
process.stdout.write(`${JSON.stringify({ ready: instance })}\n`);

let work = Promise.resolve();
createInterface({ input: process.stdin }).on("line", (line) => {
  const { ingest } = JSON.parse(line) as { ingest: unknown[] };
  work = work.then(async () => {
    const results = await engine.tickets.ingestMany(ingest);
    process.stdout.write(`${JSON.stringify({ ingested: results.length })}\n`);
  });
});
process.once("SIGTERM", () => {
  void engine.close().then(() => process.exit(0));
});
