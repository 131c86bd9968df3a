/**
 * The PostgreSQL connector: SQL steps with bound parameters, read-only prechecks and
 * postchecks, server-side cancellation on timeout or abort, pooled connections.
 */

import {
  describeSql,
  isLoopbackHost,
  jsonSafe,
  parseConnectionOptions,
  releasableHandle,
  renderTable,
  resolveSqlLogin,
  type SqlConnection,
  type SqlCredential,
  sqlCredentialTypes,
  sqlHealthFailure,
  sqlStatement,
} from "@runwarden/connector-kit";
import {
  type ConnectionHandle,
  defineConnector,
  type ExecRequest,
  type ExecResult,
  type HealthResult,
  type InfrastructureConnector,
  type Logger,
  rwError,
} from "@runwarden/core";
import pg from "pg";
import { type PostgresConfig, postgresConfigSchema, postgresConnectionOptionsSchema } from "./config.js";
import { abortError, connectionError, isConnectionError, POSTGRES, type Target } from "./internal/errors.js";
import { joinParts, runQuery, type StatementResult } from "./internal/query.js";

/** Loopback, or a Unix socket directory (`/var/run/postgresql`): no TLS by default. */
const isLocal = (host: string) => isLoopbackHost(host) || host.startsWith("/");

interface Resolved {
  key: string;
  target: Target;
  client: pg.ClientConfig;
  /** The connection allows scripts of several statements (steps without values only). */
  multipleStatements: boolean;
}

function resolve(connection: SqlConnection, config: PostgresConfig): Resolved {
  const options = parseConnectionOptions(postgresConnectionOptionsSchema, connection, "PostgreSQL");
  const login = resolveSqlLogin(connection, { defaultPort: 5432 });
  const { host, port, user, password } = login;
  const database = options.database ?? login.database ?? "postgres";
  const tls = options.tls ?? (isLocal(host) ? "disable" : "verify-full");
  const client: pg.ClientConfig = {
    host,
    port,
    database,
    user,
    ...(password === undefined ? {} : { password }),
    ssl: tls === "disable" ? false : { rejectUnauthorized: tls === "verify-full" },
    application_name: options.application_name ?? "runwarden",
    connectionTimeoutMillis: config.connectTimeoutMs,
  };
  // The pool key stays in memory, beside the pool config that holds the password anyway.
  const key = JSON.stringify([
    connection.id,
    host,
    port,
    database,
    user,
    password ?? null,
    tls,
    client.application_name,
  ]);
  return {
    key,
    target: { host, port, database },
    client,
    multipleStatements: options.multiple_statements,
  };
}

/** Takes a client from the pool; an abort while waiting rejects at once (the client goes back). */
function checkout(pool: pg.Pool, signal: AbortSignal): Promise<pg.PoolClient> {
  if (signal.aborted) return Promise.reject(abortError(signal.reason));
  // An idle client is handed over at once: no wait to abort.
  if (pool.idleCount > 0) return pool.connect();
  return new Promise((resolvePromise, reject) => {
    let done = false;
    const onAbort = () => {
      done = true;
      reject(abortError(signal.reason));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    pool.connect().then(
      (client) => {
        signal.removeEventListener("abort", onAbort);
        if (done) client.release();
        else resolvePromise(client);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        if (!done) reject(error);
      },
    );
  });
}

/** Asks the server to cancel whatever `pid` runs, from a separate short-lived connection. */
async function cancelBackend(config: pg.ClientConfig, pid: number, logger: Logger): Promise<void> {
  const canceller = new pg.Client({ ...config, connectionTimeoutMillis: 5000 });
  try {
    await canceller.connect();
    await canceller.query("SELECT pg_cancel_backend($1)", [pid]);
  } catch (error) {
    logger.warn({ err: { message: (error as Error).message }, pid }, "postgres cancel failed");
  } finally {
    await canceller.end().catch(() => {});
  }
}

function render(results: StatementResult[], tableRows: number): string {
  return results
    .map((r) =>
      r.columns.length > 0
        ? renderTable(r.columns, r.rows, r.rowCount, { maxRows: tableRows })
        : `${r.command} ${r.rowCount}\n`,
    )
    .join("\n");
}

function statementError(error: unknown): ExecResult {
  const e = error as { message?: string; code?: string; detail?: string; hint?: string; position?: string };
  const lines = [`ERROR:  ${e.message ?? String(error)}`];
  if (e.detail) lines.push(`DETAIL:  ${e.detail}`);
  if (e.hint) lines.push(`HINT:  ${e.hint}`);
  if (e.code) lines.push(`SQLSTATE: ${e.code}`);
  return { exitCode: 1, exitSignal: null, stdout: "", stderr: `${lines.join("\n")}\n` };
}

/** The PostgreSQL connector declaration (default export of `@runwarden/connector-postgres`). */
const postgresConnector = defineConnector({
  kind: "infrastructure",
  name: "postgres",
  version: "0.1.0",
  sdk: "^0.1.0",
  description: "Runs SQL steps on PostgreSQL (pg) with bound parameters and read-only checks.",
  configSchema: postgresConfigSchema,
  capabilities: [
    "run-query",
    "read-only-transaction",
    "cancel-query",
    "timeout",
    "health-check",
    "describe",
    "connection-pool",
  ],
  connectionTypes: ["database:postgresql", "database:postgres"],
  languages: ["sql"],
  credentialTypes: sqlCredentialTypes,
  create(config: PostgresConfig, ctx): InfrastructureConnector<SqlCredential> {
    const logger = ctx.logger.child({ component: "postgres" });
    const pools = new Map<string, pg.Pool>();
    let closed = false;
    // The same connection object maps to the same pool without parsing its options again.
    const resolvedCache = new WeakMap<SqlConnection, Resolved>();

    function poolFor(resolved: Resolved): pg.Pool {
      let pool = pools.get(resolved.key);
      if (!pool) {
        pool = new pg.Pool({
          ...resolved.client,
          max: config.pool.max,
          idleTimeoutMillis: config.pool.idleTimeoutMs,
          allowExitOnIdle: true,
        });
        // An idle client's error (server restart, network) must not crash the host.
        pool.on("error", (error) =>
          logger.warn(
            { err: { message: error.message }, host: resolved.target.host },
            "postgres idle client error",
          ),
        );
        pools.set(resolved.key, pool);
      }
      return pool;
    }

    async function exec(resolved: Resolved, request: ExecRequest): Promise<ExecResult> {
      const { signal } = request;
      if (signal.aborted) throw abortError(signal.reason);
      if (request.language !== "sql") {
        throw rwError(
          "RW_ERR_CONNECTOR_REJECTED",
          `the PostgreSQL connector runs sql steps, not ${request.language}: write the step as a \`\`\`sql fence`,
          { details: { reason: "language", language: request.language } },
        );
      }
      const { text, values } = sqlStatement(request, joinParts);
      let client: pg.PoolClient;
      try {
        client = await checkout(poolFor(resolved), signal);
      } catch (error) {
        if ((error as { code?: string }).code === "RW_ERR_CONNECTOR_TIMEOUT") throw error;
        throw connectionError(error, resolved.target);
      }
      const pid = (client as unknown as { processID: number }).processID;
      let timedOut = false;
      let aborted = false;
      let broken = false;
      const cancel = () => void cancelBackend(resolved.client, pid, logger);
      const timer = setTimeout(() => {
        timedOut = true;
        cancel();
      }, request.timeoutMs ?? config.statementTimeoutMs);
      let rejectAbort: (error: unknown) => void = () => {};
      const abortPromise = new Promise<never>((_, reject) => {
        rejectAbort = reject;
      });
      const onAbort = () => {
        aborted = true;
        cancel();
        rejectAbort(abortError(signal.reason));
      };
      signal.addEventListener("abort", onAbort, { once: true });

      const work = (async (): Promise<ExecResult> => {
        try {
          if (request.readOnly) await client.query("BEGIN READ ONLY");
          const results = await runQuery(client, text, values, config.maxRows, {
            multipleStatements: resolved.multipleStatements,
          });
          if (request.readOnly) await client.query("ROLLBACK");
          if (timedOut)
            return {
              exitCode: null,
              exitSignal: null,
              stdout: "",
              stderr: "query cancelled after its timeout\n",
              timedOut: true,
            };
          const last = results.at(-1);
          return {
            exitCode: 0,
            exitSignal: null,
            stdout: render(results, config.tableRows),
            stderr: "",
            rows: (last?.rows ?? []).map((row) => jsonSafe(row) as Record<string, unknown>),
            rowCount: last?.rowCount ?? 0,
          };
        } catch (error) {
          if (isConnectionError(error)) {
            broken = true;
            throw connectionError(error, resolved.target);
          }
          if (request.readOnly) await client.query("ROLLBACK").catch(() => (broken = true));
          if (timedOut && (error as { code?: string }).code === "57014") {
            return { ...statementError(error), exitCode: null, timedOut: true };
          }
          return statementError(error);
        }
      })();
      try {
        return await Promise.race([work, abortPromise]);
      } finally {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        if (aborted) {
          // After an abort the client goes back (destroyed) once the cancelled query has settled.
          void work.then(
            () => client.release(true),
            () => client.release(true),
          );
        } else {
          client.release(broken ? true : undefined);
        }
      }
    }

    return {
      async open(connection, { signal }): Promise<ConnectionHandle> {
        if (signal.aborted) throw abortError(signal.reason);
        if (closed) throw rwError("RW_ERR_CONNECTOR_REJECTED", "the PostgreSQL connector is closed");
        let resolved = resolvedCache.get(connection);
        if (!resolved) {
          resolved = resolve(connection, config);
          resolvedCache.set(connection, resolved);
        }
        // The first open checks out a client, so bad credentials or an unknown database fail here;
        // once the pool holds a connection, opening costs nothing.
        const pool = poolFor(resolved);
        if (pool.totalCount === 0) {
          let client: pg.PoolClient;
          try {
            client = await checkout(pool, signal);
          } catch (error) {
            if ((error as { code?: string }).code === "RW_ERR_CONNECTOR_TIMEOUT") throw error;
            throw connectionError(error, resolved.target);
          }
          client.release();
        }
        return releasableHandle("PostgreSQL", (request) => exec(resolved, request));
      },

      async healthCheck(connection, { signal }): Promise<HealthResult> {
        const start = performance.now();
        const latencyMs = () => Math.round((performance.now() - start) * 10) / 10;
        let client: pg.Client | undefined;
        try {
          if (signal.aborted) throw abortError(signal.reason);
          const resolved = resolve(connection, config);
          client = new pg.Client(resolved.client);
          const c = client;
          const onAbort = () => void c.end().catch(() => {});
          signal.addEventListener("abort", onAbort, { once: true });
          try {
            await client.connect();
            await client.query("SELECT 1");
          } catch (error) {
            if (signal.aborted) throw abortError(signal.reason);
            throw connectionError(error, resolved.target);
          } finally {
            signal.removeEventListener("abort", onAbort);
          }
          return { ok: true, latencyMs: latencyMs() };
        } catch (error) {
          const failure = sqlHealthFailure(error, latencyMs(), POSTGRES);
          logger.warn(
            { connection: connection.name, reason: failure.reason },
            "postgres health check failed",
          );
          return failure;
        } finally {
          await client?.end().catch(() => {});
        }
      },

      describe(request, connection) {
        const db =
          (connection.options?.database as string | undefined) ??
          connection.credential?.value.database_name ??
          "postgres";
        const target = `postgresql ${connection.targetHost ?? "?"}:${connection.targetPort ?? 5432}/${String(db)}`;
        return describeSql(target, request, joinParts);
      },

      async close() {
        closed = true;
        const all = [...pools.values()];
        pools.clear();
        await Promise.all(all.map((pool) => pool.end().catch(() => {})));
      },
    };
  },
});

export default postgresConnector;
