/**
 * The main thread's side of the `"worker"` writer: a `Storage` whose writes are posted to the
 * writer thread (`writer-worker.ts`, which runs the inline store as-is on the write connection)
 * and whose reads run at once on the main thread's own read connection, after the writes issued
 * before them have committed.
 */

import { Worker } from "node:worker_threads";
import type { ErrorCode, Logger, Storage } from "@runwarden/core";
import { isRunwardenError, rwError } from "@runwarden/core";

/**
 * Which thread runs each `Storage` method. `"read"`: the main thread, on its read connection,
 * once every write issued before it has committed. `"write"`: posted to the writer thread as
 * `{ method, args }` and group-committed there. A collection's methods are listed once, as
 * `"*.name"`. A method missing here runs on the writer thread (correct for reads and writes
 * alike, only slower for a read): to add a store method, add one line.
 */
export const methodThreads: Readonly<Record<string, "read" | "write">> = {
  "*.insert": "write",
  "*.insertMany": "write",
  "*.update": "write",
  "*.delete": "write",
  "*.get": "read",
  "*.find": "read",
  "*.count": "read",
  ingestTickets: "write",
  createSession: "write",
  batch: "write",
  claimSessions: "write",
  renewLease: "write",
  releaseLease: "write",
  getValue: "read",
  setValue: "write",
  "leases.acquire": "write",
  "leases.release": "write",
  "leases.get": "read",
  enqueueIntake: "write",
  pendingIntake: "read",
  completeIntake: "write",
  intakeDepth: "read",
};

/** Members handled by the proxy itself, never posted: signals stay on the main thread. */
const ownMembers = new Set(["signals", "close"]);

/** Where the writer thread opens the store (passed as `workerData`). */
export interface WriterWorkerData {
  path: string;
  busyTimeoutMs?: number | undefined;
}

/** An error crossing the thread boundary: a Runwarden error by its fields, anything else cloned. */
export type WireError =
  | {
      runwarden: true;
      code: ErrorCode;
      message: string;
      retryable: boolean;
      details?: Record<string, unknown> | undefined;
      /** The driver error's name, message and code (values never appear in these). */
      cause?: { name: string; message: string; code?: unknown } | undefined;
    }
  | { runwarden: false; error: unknown };

/** A message to the writer thread. */
export type WriterRequest = { id: number; method: string; args: unknown[] } | { close: true };

/** A message from the writer thread. */
export type WriterReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: WireError }
  | { signal: { topic: string; payload: string } }
  | { warn: { message: string; err: WireError } };

/** The class of a method path: `"tickets.get"` is looked up as `"*.get"` too. */
export function threadOf(path: string, collections: ReadonlySet<string>): "read" | "write" {
  const direct = methodThreads[path];
  if (direct) return direct;
  const [head, ...rest] = path.split(".");
  if (head !== undefined && collections.has(head)) return methodThreads[`*.${rest.join(".")}`] ?? "write";
  return "write";
}

/** Turns an error into what can be posted across threads. */
export function toWire(err: unknown): WireError {
  if (isRunwardenError(err)) {
    const cause = err.cause instanceof Error ? err.cause : undefined;
    return {
      runwarden: true,
      code: err.code,
      message: err.message,
      retryable: err.retryable,
      details: err.details,
      cause: cause && {
        name: cause.name,
        message: cause.message,
        code: (cause as { code?: unknown }).code,
      },
    };
  }
  if (err instanceof Error) return { runwarden: false, error: err };
  return { runwarden: false, error: String(err) };
}

/** Rebuilds an error posted by `toWire` (a Runwarden error keeps its code, details and retryability). */
export function fromWire(wire: WireError): unknown {
  if (!wire.runwarden) return wire.error;
  let cause: Error | undefined;
  if (wire.cause) {
    cause = Object.assign(new Error(wire.cause.message), { name: wire.cause.name, code: wire.cause.code });
  }
  return rwError(wire.code, wire.message, {
    retryable: wire.retryable,
    ...(wire.details === undefined ? {} : { details: wire.details }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The writer thread of a proxy (for tests: ending it shows how a crash is handled). */
export const writerThread: unique symbol = Symbol("runwarden.storage-sqlite.writerThread");

interface WriterProxyOptions {
  /** The inline store on the main thread's read connection. */
  local: Storage;
  logger?: Logger | undefined;
  /** The worker's module, or (with `eval`) the code that imports it. */
  entry: URL | string;
  eval?: boolean | undefined;
  workerData: WriterWorkerData;
}

type Method = (...args: unknown[]) => Promise<unknown>;

/** Starts the writer thread and returns the `Storage` that talks to it (see the module comment). */
export function createWriterProxy(options: WriterProxyOptions): Storage {
  const { local, logger } = options;
  const worker = new Worker(options.entry, {
    workerData: options.workerData,
    ...(options.eval ? { eval: true } : {}),
  });
  // The thread keeps the process alive only while writes wait for it (see track/settle).
  worker.unref();
  const exited = new Promise<number>((resolve) => worker.once("exit", resolve));

  let issued = 0;
  const pending = new Map<number, { resolve(value: unknown): void; reject(err: unknown): void }>();
  /** Reads waiting for the writes issued before them (`target` is the last such write's id). */
  const waiters: { target: number; release(): void }[] = [];
  let failure: unknown;
  let closing: Promise<void> | undefined;

  function settle(id: number): void {
    pending.delete(id);
    if (pending.size === 0 && !closing) worker.unref();
    const oldest = pending.keys().next();
    const done = oldest.done ? Number.POSITIVE_INFINITY : oldest.value;
    while (waiters.length > 0 && waiters[0]!.target < done) waiters.shift()!.release();
  }

  function fail(reason: string, err?: unknown): void {
    if (failure) return;
    failure = rwError("RW_ERR_STORAGE_UNAVAILABLE", "The SQLite writer thread stopped", {
      details: { reason },
    });
    logger?.error({ err, reason }, "sqlite writer thread stopped");
    for (const [id, { reject }] of [...pending]) {
      reject(failure);
      settle(id);
    }
  }

  worker.on("message", (reply: WriterReply) => {
    if ("signal" in reply) {
      local.signals.publish(reply.signal.topic, reply.signal.payload).catch((err: unknown) => {
        logger?.warn({ err, topic: reply.signal.topic }, "signal from the writer thread failed");
      });
      return;
    }
    if ("warn" in reply) {
      logger?.warn({ err: fromWire(reply.warn.err) }, reply.warn.message);
      return;
    }
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    if (reply.ok) waiting.resolve(reply.value);
    else waiting.reject(fromWire(reply.error));
    settle(reply.id);
  });
  worker.on("error", (err) => fail("error", err));
  worker.on("exit", (code) => {
    if (!closing || pending.size > 0) fail(`exit ${code}`);
  });

  function write(method: string, args: unknown[]): Promise<unknown> {
    if (failure) return Promise.reject(failure);
    if (closing) return Promise.reject(rwError("RW_ERR_STORAGE_UNAVAILABLE", "The SQLite store is closed"));
    const id = ++issued;
    return new Promise((resolve, reject) => {
      try {
        worker.postMessage({ id, method, args } satisfies WriterRequest);
      } catch (err) {
        // Not cloneable (a function, a symbol, nesting too deep): nothing was sent.
        reject(
          rwError("RW_ERR_INPUT_INVALID", "The document cannot be stored", {
            cause: err,
            details: { fields: [{ field: "document", message: "not serialisable" }] },
          }),
        );
        return;
      }
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve, reject });
    });
  }

  /** Resolves once every write issued so far has settled. */
  function drained(): Promise<void> {
    const target = issued;
    const oldest = pending.keys().next();
    if (oldest.done || oldest.value > target) return Promise.resolve();
    return new Promise((release) => waiters.push({ target, release }));
  }

  function read(method: Method, args: unknown[]): Promise<unknown> {
    // A read sees every write issued before it, as with the inline writer.
    const oldest = pending.keys().next();
    if (oldest.done) return method(...args);
    return drained().then(() => method(...args));
  }

  const collections = new Set<string>();
  function wrap(source: Record<string, unknown>, prefix: string): Record<string, unknown> {
    const target: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(source)) {
      const path = prefix === "" ? key : `${prefix}.${key}`;
      if (prefix === "" && ownMembers.has(key)) continue;
      if (typeof value === "function") {
        const method = value.bind(source) as Method;
        target[key] =
          threadOf(path, collections) === "read"
            ? (...args: unknown[]) => read(method, args)
            : (...args: unknown[]) => write(path, args);
      } else if (typeof value === "object" && value !== null) {
        target[key] = wrap(value as Record<string, unknown>, path);
      } else {
        target[key] = value;
      }
    }
    return target;
  }
  for (const [key, value] of Object.entries(local)) {
    if (
      typeof value === "object" &&
      value !== null &&
      typeof (value as { insert?: unknown }).insert === "function"
    )
      collections.add(key);
  }

  const proxy = wrap(local as unknown as Record<string, unknown>, "") as unknown as Storage &
    Record<typeof writerThread, Worker>;
  Object.assign(proxy, {
    signals: local.signals,
    close(): Promise<void> {
      closing ??= (async () => {
        worker.ref();
        await drained();
        if (!failure) {
          worker.postMessage({ close: true } satisfies WriterRequest);
          await exited;
        }
        await local.close();
      })();
      return closing;
    },
  });
  Object.defineProperty(proxy, writerThread, { value: worker });
  return proxy;
}
