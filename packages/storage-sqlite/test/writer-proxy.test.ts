import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import type { Logger, Storage } from "@runwarden/core";
import { isRunwardenError } from "@runwarden/core";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectCode } from "../../core/test/storage/contract.js";
import { newTicket } from "../../core/test/storage/fixtures.js";
import { createSqliteStorage } from "../src/index.js";
import { methodThreads, threadOf, writerThread } from "../src/internal/writer-proxy.js";
import { openInlineStore } from "../src/storage-sqlite.js";

/** A logger that keeps what was logged at error level (core's `Logger` is pino's interface). */
function recordingLogger(): { logger: Logger; errors: { obj: unknown; msg: unknown }[] } {
  const errors: { obj: unknown; msg: unknown }[] = [];
  const logger = {
    child: () => logger,
    error: (obj: unknown, msg?: unknown) => errors.push({ obj, msg }),
    warn: () => {},
    info: () => {},
    debug: () => {},
  };
  return { logger: logger as unknown as Logger, errors };
}

function threadOfStore(storage: Storage): Worker {
  return (storage as unknown as Record<typeof writerThread, Worker>)[writerThread];
}

describe("the worker writer", () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rw-sqlite-writer-"));
    path = join(dir, "runwarden.db");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("commits writes on a worker thread when asked, and keeps default, :memory: and inline stores on the caller's thread", async () => {
    const storage = createSqliteStorage({ path, writer: "worker" });
    expect(threadOfStore(storage)?.threadId).toBeGreaterThan(0);
    await storage.close();
    const stores = [
      { path },
      { path: ":memory:", writer: "worker" as const },
      { path, writer: "inline" as const },
    ];
    for (const options of stores) {
      const inline = createSqliteStorage(options);
      expect(threadOfStore(inline)).toBeUndefined();
      await inline.close();
    }
  });

  it("keeps the event loop turning while a write waits for another connection's lock", async () => {
    const storage = createSqliteStorage({ path, busyTimeoutMs: 5_000, writer: "worker" });
    await storage.setValue("a", "0");
    const other = new BetterSqlite3(path);
    other.exec("BEGIN IMMEDIATE");
    const started = performance.now();
    const write = storage.setValue("a", "1");
    // The writer thread sits in SQLite's busy wait; this thread's timers still fire on time.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(performance.now() - started).toBeLessThan(1_000);
    other.exec("COMMIT");
    other.close();
    await write;
    expect(await storage.getValue("a")).toBe("1");
    await storage.close();
  });

  it("refuses a writer that is neither worker nor inline", () => {
    expect(() => createSqliteStorage({ path, writer: "threads" as never })).toThrow(
      expect.objectContaining({ code: "RW_ERR_CONFIG_INVALID" }),
    );
  });

  it("lets each read see every write issued before it, across many group commits", async () => {
    const storage = createSqliteStorage({ path, writer: "worker" });
    const seen: number[] = [];
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      writes.push(storage.tickets.insert(newTicket({ fingerprint: `f${i}` })));
      seen.push(await storage.tickets.count());
    }
    await Promise.all(writes);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    await storage.close();
  });

  it("rebuilds the writer's errors as Runwarden errors with their code, details and retryability", async () => {
    const storage = createSqliteStorage({ path, writer: "worker" });
    const stored = await storage.tickets.insert(newTicket());
    const stale = await storage.tickets.update(stored.id, stored.version + 5, { title: "x" }).catch((e) => e);
    expect(isRunwardenError(stale)).toBe(true);
    expect(stale).toMatchObject({ code: "RW_ERR_STORAGE_CONFLICT", name: "RunwardenError" });
    const missing = await storage.tickets.update(9_999, 1, { title: "x" }).catch((e) => e);
    expect(missing).toMatchObject({ code: "RW_ERR_STORAGE_NOT_FOUND" });
    await expectCode(storage.audit.update(1, 1, {} as never), "RW_ERR_STORAGE_APPEND_ONLY");
    const typed = await storage.runbooks.insert({ key: "k", revision: "one" } as never).catch((e) => e);
    expect(typed).toMatchObject({ code: "RW_ERR_INPUT_INVALID", details: expect.any(Object) });
    expect(typed.cause).toMatchObject({ code: "SQLITE_CONSTRAINT_DATATYPE" });
    // The same failure from the inline writer carries the same fields.
    const inline = createSqliteStorage({ path: join(dir, "inline.db"), writer: "inline" });
    const own = await inline.tickets.insert(newTicket());
    const inlineStale = await inline.tickets.update(own.id, own.version + 5, { title: "x" }).catch((e) => e);
    const fields = (e: Record<string, unknown>) => ({
      code: e.code,
      message: e.message,
      retryable: e.retryable,
      status: e.status,
      details: e.details,
    });
    expect(fields(stale)).toEqual(fields(inlineStale));
    await inline.close();
    await storage.close();
  });

  it("fails pending and later writes as unavailable and logs it when the writer thread dies, reads still answering", async () => {
    const { logger, errors } = recordingLogger();
    const storage = createSqliteStorage({ path, logger, writer: "worker" });
    await storage.tickets.insert(newTicket({ fingerprint: "kept" }));
    // In flight when the thread dies: the thread may have committed it before `terminate` took
    // effect (then it is stored and resolves), otherwise it fails as unavailable; it never hangs.
    const pending = storage.tickets.insert(newTicket({ fingerprint: "in-flight" })).then(
      () => "stored",
      (err: unknown) => (isRunwardenError(err) ? err.code : String(err)),
    );
    await threadOfStore(storage).terminate();
    const inFlight = await pending;
    await expectCode(storage.setValue("k", "v"), "RW_ERR_STORAGE_UNAVAILABLE");
    expect(errors.map((e) => e.msg)).toContain("sqlite writer thread stopped");
    const stored = (await storage.tickets.find()).map((t) => t.fingerprint);
    expect(stored).toContain("kept");
    if (inFlight === "stored") expect(stored).toContain("in-flight");
    else expect(inFlight).toBe("RW_ERR_STORAGE_UNAVAILABLE");
    await storage.close();
  });

  it("commits the writes issued before close and ends the thread", async () => {
    const storage = createSqliteStorage({ path, writer: "worker" });
    const thread = threadOfStore(storage);
    let exited = false;
    thread.once("exit", () => {
      exited = true;
    });
    const writes = [storage.setValue("a", "1"), storage.tickets.insert(newTicket())];
    await storage.close();
    await Promise.all(writes);
    expect(exited).toBe(true);
    const reopened = createSqliteStorage({ path, writer: "inline" });
    expect(await reopened.getValue("a")).toBe("1");
    expect(await reopened.tickets.count()).toBe(1);
    await reopened.close();
  });

  it("publishes a signal raised on the writer thread to main-thread listeners", async () => {
    const storage = createSqliteStorage({ path, writer: "worker" });
    const got = new Promise<string>((resolve) => storage.signals.subscribe("tickets.changed", resolve));
    // What a store method publishing from inside the writer thread does (no such method exists yet).
    threadOfStore(storage).postMessage({ id: -1, method: "signals.publish", args: ["tickets.changed", "9"] });
    expect(await got).toBe("9");
    await storage.close();
  });

  it("delivers signals to main-thread listeners", async () => {
    const storage = createSqliteStorage({ path, writer: "worker" });
    const got: string[] = [];
    storage.signals.subscribe("sessions.ready", (payload) => got.push(payload));
    await storage.tickets.insert(newTicket());
    await storage.signals.publish("sessions.ready", "7");
    expect(got).toEqual(["7"]);
    await storage.close();
  });
});

describe("methodThreads", () => {
  it("names a thread for every method the store has", async () => {
    const { storage } = openInlineStore({ path: ":memory:" });
    const collections = new Set<string>();
    const paths: string[] = [];
    const walk = (source: Record<string, unknown>, prefix: string) => {
      for (const [key, value] of Object.entries(source)) {
        const path = prefix === "" ? key : `${prefix}.${key}`;
        if (prefix === "" && (key === "signals" || key === "close")) continue;
        if (typeof value === "function") paths.push(path);
        else if (typeof value === "object" && value !== null) {
          if ("insert" in value) collections.add(key);
          walk(value as Record<string, unknown>, path);
        }
      }
    };
    walk(storage as unknown as Record<string, unknown>, "");
    const unnamed = paths.filter((path) => {
      const [head, ...rest] = path.split(".");
      return !(path in methodThreads) && !(collections.has(head!) && `*.${rest.join(".")}` in methodThreads);
    });
    expect(unnamed).toEqual([]);
    expect(threadOf("tickets.find", collections)).toBe("read");
    expect(threadOf("tickets.insert", collections)).toBe("write");
    expect(threadOf("someNewMethod", collections)).toBe("write");
    await storage.close();
  });
});
