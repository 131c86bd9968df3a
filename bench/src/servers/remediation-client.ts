/**
 * The parent's side of remediation-server.ts: starts one of its modes in a child process, asks
 * it to drain, stops it, and reads what the runwarden mode left in its SQLite file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import type { ChildMessage, Drained, ServerMode } from "./remediation-protocol.js";

export { type Drained, now, prometheusToken, webhookSecret } from "./remediation-protocol.js";

export interface ServerChild {
  port: number;
  /** runwarden mode: a viewer API token the server accepts (`Authorization: Bearer`). */
  viewerToken?: string;
  /** Waits until every session the server started has finished (runwarden; at once otherwise). */
  drain(): Promise<Drained>;
  stop(): Promise<void>;
}

const serverScript = join(import.meta.dirname, "remediation-server.ts");

export function startServer(mode: ServerMode, dir: string): Promise<ServerChild> {
  return new Promise((resolve, reject) => {
    // The same loader and conditions as this process (tsx; workspace sources when so resolved).
    const child: ChildProcess = spawn(process.execPath, [...process.execArgv, serverScript, mode, dir], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const onExit = (code: number | null) => reject(new Error(`${mode} server exited with ${code}`));
    child.on("exit", onExit);
    child.on("message", function ready(message: ChildMessage) {
      if (message.type !== "ready") return;
      child.off("message", ready);
      resolve({
        port: message.port,
        ...(message.viewerToken ? { viewerToken: message.viewerToken } : {}),
        drain: () =>
          new Promise((done, fail) => {
            const exited = (code: number | null) =>
              fail(new Error(`${mode} server exited with ${code} while draining`));
            child.once("exit", exited);
            child.on("message", function drained(m: ChildMessage) {
              if (m.type !== "drained") return;
              child.off("message", drained);
              child.off("exit", exited);
              done(m);
            });
            child.send({ type: "drain" });
          }),
        stop: () =>
          new Promise((done) => {
            child.off("exit", onExit);
            if (child.exitCode !== null) return done();
            child.once("exit", () => done());
            child.kill("SIGTERM");
          }),
      });
    });
  });
}

export interface StoredCounts {
  tickets: number;
  sessions: number;
  sessionsSucceeded: number;
  steps: number;
  stepsSucceeded: number;
}

/** Counts what the runwarden server's SQLite file holds, after the server has closed it. */
export async function countStored(dir: string): Promise<StoredCounts> {
  const store = createSqliteStorage({ path: join(dir, "bench.db") });
  try {
    return {
      tickets: await store.tickets.count(),
      sessions: await store.sessions.count(),
      sessionsSucceeded: await store.sessions.count({ status: "succeeded" }),
      steps: await store.steps.count(),
      stepsSucceeded: await store.steps.count({ status: "succeeded" }),
    };
  } finally {
    await store.close();
  }
}
