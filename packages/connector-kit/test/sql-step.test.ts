import { type ExecRequest, isRunwardenError } from "@runwarden/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SqlDialect } from "../src/sql-errors.js";
import {
  checkoutSqlSession,
  runSqlStep,
  type SqlDriver,
  type SqlSession,
  type SqlStatementResult,
  sqlAbortError,
} from "../src/sql-step.js";

const DIALECT: SqlDialect = {
  engine: "FakeSQL",
  authCodes: ["AUTH"],
  missingDatabaseCode: "NODB",
  tooManyConnectionsCode: "FULL",
  codeField: "code",
};

const LIMITS = { statementTimeoutMs: 60_000, maxRows: 1000, tableRows: 50 };

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const table: SqlStatementResult = {
  columns: ["id", "name"],
  rows: [{ id: 1n, name: "alpha" }],
  rowCount: 3,
  summary: null,
};

/** A driver whose one session records every call; `run` answers with `answer`. */
function fakeDriver(answer: () => Promise<SqlStatementResult[]> = async () => [table]) {
  const calls: string[] = [];
  const released: boolean[] = [];
  const session: SqlSession = {
    async beginReadOnly() {
      calls.push("begin read only");
    },
    async rollback() {
      calls.push("rollback");
    },
    run(text, values, maxRows) {
      calls.push(`run ${text} ${JSON.stringify(values)} max ${maxRows}`);
      return answer();
    },
    cancel() {
      calls.push("cancel");
    },
    release(destroy) {
      released.push(destroy);
    },
  };
  let acquire: () => Promise<SqlSession> = async () => session;
  const driver: SqlDriver = {
    dialect: DIALECT,
    target: { host: "db1", port: 1234, database: "app" },
    joinParts: (parts) => parts.join("?"),
    acquire: () => acquire(),
    isConnectionError: (error) => (error as { code?: string }).code === "ECONNRESET",
    isCancelled: (error) => (error as { code?: string }).code === "CANCELLED",
    statementError: (error) => `ERROR: ${(error as Error).message}\n`,
  };
  return {
    driver,
    calls,
    released,
    setAcquire(fn: () => Promise<SqlSession>) {
      acquire = fn;
    },
  };
}

function req(body: Partial<ExecRequest> = {}): ExecRequest {
  return {
    command: "SELECT 1",
    language: "sql",
    readOnly: false,
    signal: new AbortController().signal,
    ...body,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("runSqlStep", () => {
  it("binds the values, renders the table, returns JSON-safe rows and releases the session", async () => {
    const { driver, calls, released } = fakeDriver();
    const result = await runSqlStep(
      driver,
      req({ sql: { parts: ["SELECT * FROM t WHERE a = ", ""], values: ["x'; DROP"] } }),
      { ...LIMITS, maxRows: 7 },
    );
    expect(calls).toEqual([`run SELECT * FROM t WHERE a = ? ["x'; DROP"] max 7`]);
    expect(result).toMatchObject({
      exitCode: 0,
      stderr: "",
      rows: [{ id: "1", name: "alpha" }],
      rowCount: 3,
    });
    expect(result.stdout).toBe("id | name\n---+------\n1  | alpha\n(3 rows, 1 shown)\n");
    expect(released).toEqual([false]);
  });

  it("shows a statement's summary line instead of a table when it has no result set", async () => {
    const { driver } = fakeDriver(async () => [
      { columns: [], rows: [], rowCount: 2, summary: "UPDATE 2" },
      table,
    ]);
    const result = await runSqlStep(driver, req(), LIMITS);
    expect(result.stdout).toBe("UPDATE 2\n\nid | name\n---+------\n1  | alpha\n(3 rows, 1 shown)\n");
  });

  it("begins a read-only transaction and rolls it back when the step is read-only", async () => {
    const { driver, calls, released } = fakeDriver();
    await runSqlStep(driver, req({ readOnly: true }), LIMITS);
    expect(calls).toEqual(["begin read only", "run SELECT 1 [] max 1000", "rollback"]);
    expect(released).toEqual([false]);
  });

  it("does not begin a transaction when the step may write", async () => {
    const { driver, calls } = fakeDriver();
    await runSqlStep(driver, req({ readOnly: false }), LIMITS);
    expect(calls).not.toContain("begin read only");
    expect(calls).not.toContain("rollback");
  });

  it("reports a failed statement as exit code 1, rolls back a read-only one and releases the session", async () => {
    const { driver, calls, released } = fakeDriver(async () => {
      throw Object.assign(new Error("cannot execute INSERT in a read-only transaction"), { code: "25006" });
    });
    const result = await runSqlStep(driver, req({ readOnly: true }), LIMITS);
    expect(result).toEqual({
      exitCode: 1,
      exitSignal: null,
      stdout: "",
      stderr: "ERROR: cannot execute INSERT in a read-only transaction\n",
    });
    expect(calls.at(-1)).toBe("rollback");
    expect(released).toEqual([false]);
  });

  it("rejects with the mapped connection error and closes the session when the connection is lost", async () => {
    const { driver, released } = fakeDriver(async () => {
      throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    });
    const error = await runSqlStep(driver, req(), LIMITS).catch((e: unknown) => e);
    expect(isRunwardenError(error) && error.code).toBe("RW_ERR_CONNECTOR_UNREACHABLE");
    expect(released).toEqual([true]);
  });

  it("closes the session when the rollback after a failed read-only statement fails", async () => {
    const { driver, released } = fakeDriver(async () => {
      throw new Error("syntax error");
    });
    driver.acquire = async () => {
      const session = await fakeDriver().driver.acquire();
      return {
        ...session,
        run: async () => Promise.reject(new Error("syntax error")),
        rollback: async () => Promise.reject(new Error("connection gone")),
        release: (destroy) => released.push(destroy),
      };
    };
    const result = await runSqlStep(driver, req({ readOnly: true }), LIMITS);
    expect(result.exitCode).toBe(1);
    expect(released).toEqual([true]);
  });

  it("cancels the statement and reports it timed out when it outlives the step's timeout", async () => {
    vi.useFakeTimers();
    const pending = deferred<SqlStatementResult[]>();
    const { driver, calls, released } = fakeDriver(() => pending.promise);
    const running = runSqlStep(driver, req({ timeoutMs: 500 }), LIMITS);
    await vi.advanceTimersByTimeAsync(499);
    expect(calls).not.toContain("cancel");
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toContain("cancel");
    pending.reject(
      Object.assign(new Error("canceling statement due to user request"), { code: "CANCELLED" }),
    );
    expect(await running).toEqual({
      exitCode: null,
      exitSignal: null,
      stdout: "",
      stderr: "ERROR: canceling statement due to user request\n",
      timedOut: true,
    });
    expect(released).toEqual([false]);
  });

  it("reports a timed-out statement that returned anyway as timed out, with the driver's verb", async () => {
    vi.useFakeTimers();
    const pending = deferred<SqlStatementResult[]>();
    const { driver, released } = fakeDriver(() => pending.promise);
    driver.dialect = { ...DIALECT, cancelVerb: "killed" };
    const running = runSqlStep(driver, req(), { ...LIMITS, statementTimeoutMs: 100 });
    await vi.advanceTimersByTimeAsync(100);
    pending.resolve([table]);
    expect(await running).toEqual({
      exitCode: null,
      exitSignal: null,
      stdout: "",
      stderr: "query killed after its timeout\n",
      timedOut: true,
    });
    expect(released).toEqual([false]);
  });

  it("cancels on the server, rejects at once and closes the session after it settles when aborted mid-query", async () => {
    const pending = deferred<SqlStatementResult[]>();
    const { driver, calls, released } = fakeDriver(() => pending.promise);
    const controller = new AbortController();
    const running = runSqlStep(driver, req({ signal: controller.signal }), LIMITS);
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    controller.abort(new Error("engine shutdown"));
    const error = await running.catch((e: unknown) => e);
    expect(isRunwardenError(error) && error.code).toBe("RW_ERR_CONNECTOR_TIMEOUT");
    expect(isRunwardenError(error) && error.details).toEqual({ reason: "aborted" });
    expect(calls).toContain("cancel");
    // The session is not handed back while the cancelled statement may still run on it.
    expect(released).toEqual([]);
    pending.reject(Object.assign(new Error("canceling statement"), { code: "CANCELLED" }));
    await vi.waitFor(() => expect(released).toEqual([true]));
  });

  it("rejects before checking out a session when the signal is already aborted", async () => {
    const { driver, calls, released } = fakeDriver();
    const acquire = vi.spyOn(driver, "acquire");
    const error = await runSqlStep(driver, req({ signal: AbortSignal.abort() }), LIMITS).catch(
      (e: unknown) => e,
    );
    expect(isRunwardenError(error) && error.code).toBe("RW_ERR_CONNECTOR_TIMEOUT");
    expect(acquire).not.toHaveBeenCalled();
    expect(calls).toEqual([]);
    expect(released).toEqual([]);
  });

  it("refuses a step in another language than sql without checking out a session", async () => {
    const { driver } = fakeDriver();
    const acquire = vi.spyOn(driver, "acquire");
    const error = await runSqlStep(driver, req({ language: "bash" }), LIMITS).catch((e: unknown) => e);
    expect(isRunwardenError(error) && error.code).toBe("RW_ERR_CONNECTOR_REJECTED");
    expect((error as Error).message).toBe(
      "the FakeSQL connector runs sql steps, not bash: write the step as a ```sql fence",
    );
    expect(acquire).not.toHaveBeenCalled();
  });
});

describe("checkoutSqlSession", () => {
  it("rejects at once when aborted while waiting, and releases the session when it arrives", async () => {
    const { driver, released, setAcquire } = fakeDriver();
    const arriving = deferred<SqlSession>();
    setAcquire(() => arriving.promise);
    const controller = new AbortController();
    const waiting = checkoutSqlSession(driver, controller.signal);
    controller.abort();
    const error = await waiting.catch((e: unknown) => e);
    expect(isRunwardenError(error) && error.code).toBe("RW_ERR_CONNECTOR_TIMEOUT");
    const session = await fakeDriver().driver.acquire();
    arriving.resolve({ ...session, release: (destroy) => released.push(destroy) });
    await vi.waitFor(() => expect(released).toEqual([false]));
  });

  it("maps a failure to connect with the dialect", async () => {
    const { driver, setAcquire } = fakeDriver();
    setAcquire(async () => {
      throw Object.assign(new Error("bad password"), { code: "AUTH" });
    });
    const error = await checkoutSqlSession(driver, new AbortController().signal).catch((e: unknown) => e);
    expect(isRunwardenError(error) && error.code).toBe("RW_ERR_CONNECTOR_AUTH");
    expect(isRunwardenError(error) && error.details).toMatchObject({
      reason: "auth",
      host: "db1",
      code: "AUTH",
    });
  });
});

describe("sqlAbortError", () => {
  it("says the query was cancelled unless the dialect names another verb", () => {
    expect(sqlAbortError(DIALECT).message).toBe(
      "the SQL step was aborted; the query was cancelled on the server",
    );
    expect(sqlAbortError({ ...DIALECT, cancelVerb: "killed" }, new Error("stop")).message).toBe(
      "the SQL step was aborted; the query was killed on the server",
    );
  });
});
