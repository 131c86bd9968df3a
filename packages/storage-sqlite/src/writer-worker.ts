/**
 * The writer thread of the `"worker"` writer: owns the write connection and runs the inline
 * store as-is. Each `{ id, method, args }` from the main thread calls that store method; the
 * calls arriving in one turn of this thread's event loop share one group commit, and each reply
 * is posted once its commit is done. WAL checkpoints run here too, PASSIVE, between batches.
 */

import { parentPort, workerData } from "node:worker_threads";
import type { Signals } from "@runwarden/core";
import {
  toWire,
  type WriterReply,
  type WriterRequest,
  type WriterWorkerData,
} from "./internal/writer-proxy.js";
import { openInlineStore } from "./storage-sqlite.js";

/** How long after a commit the next PASSIVE checkpoint runs (at most one per interval). */
const CHECKPOINT_INTERVAL_MS = 200;

const port = parentPort;
if (!port) throw new Error("writer-worker.ts runs as a worker thread");
const post = (reply: WriterReply) => port.postMessage(reply);
const data = workerData as WriterWorkerData;

/** Signals raised by the store here are published on the main thread, where listeners are. */
const signals: Signals & { close(): void } = {
  async publish(topic, payload) {
    post({ signal: { topic, payload } });
  },
  subscribe() {
    return () => {};
  },
  close() {},
};

let checkpointTimer: NodeJS.Timeout | undefined;
function checkpoint(): void {
  checkpointTimer = undefined;
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch (err) {
    post({ warn: { message: "WAL checkpoint failed", err: toWire(err) } });
  }
}

const { storage, db } = openInlineStore(
  { path: data.path, ...(data.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: data.busyTimeoutMs }) },
  {
    signals,
    manualCheckpoints: true,
    afterCommit() {
      // A timer runs between batches: a commit never waits for a checkpoint.
      checkpointTimer ??= setTimeout(checkpoint, CHECKPOINT_INTERVAL_MS);
    },
  },
);

/** Finds `tickets.insert` (or any dotted path) on the store. */
function resolve(path: string): { self: unknown; fn: unknown } {
  let self: unknown = storage;
  const parts = path.split(".");
  for (const part of parts.slice(0, -1)) self = (self as Record<string, unknown> | undefined)?.[part];
  return { self, fn: (self as Record<string, unknown> | undefined)?.[parts.at(-1)!] };
}

port.on("message", (request: WriterRequest) => {
  if ("close" in request) {
    void storage.close().finally(() => {
      if (checkpointTimer) clearTimeout(checkpointTimer);
      checkpointTimer = undefined;
      port.close();
    });
    return;
  }
  const { id, method, args } = request;
  const { self, fn } = resolve(method);
  if (typeof fn !== "function") {
    post({ id, ok: false, error: toWire(new TypeError(`No store method ${method}`)) });
    return;
  }
  let result: Promise<unknown>;
  try {
    // Called now, not after an await: the calls of one turn share a group commit.
    result = Promise.resolve(fn.apply(self, args));
  } catch (err) {
    result = Promise.reject(err);
  }
  result.then(
    (value) => {
      try {
        post({ id, ok: true, value });
      } catch (err) {
        post({ id, ok: false, error: toWire(err) });
      }
    },
    (err: unknown) => post({ id, ok: false, error: toWire(err) }),
  );
});
