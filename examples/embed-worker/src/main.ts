/**
 * `DATABASE_URL=postgres://… RUNBOOKS_DIR=./runbooks APPROVERS=lena:approver node dist/main.js`:
 * the worker reading its queue as newline-delimited JSON on stdin (one {@link Message} a line,
 * e.g. `{"type":"alert","body":{…}}`), logging with pino to stdout, and on SIGTERM (or SIGINT)
 * draining the step in flight before it exits 0.
 *
 * - `RUNBOOKS_DIR`: every `*.md` in it is stored at start (approved unless its front matter says draft).
 * - `APPROVERS`: `name:role+role,name:role` — who may decide approvals from the queue.
 * - `VAULT_KEY`: base64 of 32 bytes, so sealed credentials survive a restart (default: a new key).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Actor } from "@runwarden/core";
import { pino } from "pino";
import { LineQueue, type Message, startWorker } from "./index.js";

const logger = pino({ name: "orders-worker" });

function approvers(spec: string): Record<string, Actor["roles"]> {
  const table: Record<string, Actor["roles"]> = {};
  for (const entry of spec
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [name, roles = ""] = entry.split(":");
    table[name!.trim()] = roles.split("+").map((r) => r.trim()) as Actor["roles"];
  }
  return table;
}

function runbooks(dir: string | undefined): string[] {
  if (!dir) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".md") && f.toLowerCase() !== "readme.md")
    .sort()
    .map((f) => readFileSync(join(dir, f), "utf8"));
}

const queue = new LineQueue<Message>(process.stdin, {
  onDeadLetter: ({ line, error }) => logger.warn({ line, err: error }, "message dead-lettered"),
});
const worker = await startWorker({
  databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/orders",
  logger,
  queue,
  notify: (request) => logger.info(request, "approval requested"),
  approvers: approvers(process.env.APPROVERS ?? ""),
  ...(process.env.VAULT_KEY ? { vaultKey: Buffer.from(process.env.VAULT_KEY, "base64") } : {}),
  runbooks: runbooks(process.env.RUNBOOKS_DIR),
});
worker.engine.events.on("step:started", (e) => logger.info(e, "step started"));
worker.engine.events.on("step:finished", (e) => logger.info(e, "step finished"));
worker.engine.events.on("session:finished", (e) => logger.info(e, "session finished"));
logger.info({}, "worker started: reading messages from stdin");

const stop = (signal: string) => {
  logger.info({ signal }, "stopping");
  worker.shutdown().then(
    () => logger.flush(() => process.exit(0)),
    (err: unknown) => {
      logger.error({ err }, "shutdown failed");
      process.exit(1);
    },
  );
};
process.once("SIGTERM", () => stop("SIGTERM"));
process.once("SIGINT", () => stop("SIGINT"));
