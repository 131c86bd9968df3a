/**
 * The PostgreSQL connector: SQL steps with bound parameters, read-only prechecks and
 * postchecks, server-side cancellation on timeout or abort, pooled connections.
 */

import {
  checkoutSqlSession,
  describeSql,
  releasableHandle,
  runSqlStep,
  type SqlConnection,
  type SqlCredential,
  type SqlDriver,
  sqlAbortError,
  sqlCredentialTypes,
  sqlHealthCheck,
} from "@runwarden/connector-kit";
import {
  type ConnectionHandle,
  defineConnector,
  type HealthResult,
  type InfrastructureConnector,
  rwError,
} from "@runwarden/core";
import pg from "pg";
import { type PostgresConfig, postgresConfigSchema } from "./config.js";
import { postgresDriver } from "./internal/driver.js";
import { connectionError, POSTGRES } from "./internal/errors.js";
import { joinParts } from "./internal/query.js";
import { type Resolved, resolve } from "./internal/resolve.js";

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
    // The same connection object maps to the same pool and driver without resolving it again.
    const drivers = new WeakMap<SqlConnection, { pool: pg.Pool; driver: SqlDriver }>();

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

    return {
      async open(connection, { signal }): Promise<ConnectionHandle> {
        if (signal.aborted) throw sqlAbortError(POSTGRES, signal.reason);
        if (closed) throw rwError("RW_ERR_CONNECTOR_REJECTED", "the PostgreSQL connector is closed");
        let entry = drivers.get(connection);
        if (!entry) {
          const resolved = resolve(connection, config);
          const pool = poolFor(resolved);
          entry = { pool, driver: postgresDriver(resolved, pool, logger) };
          drivers.set(connection, entry);
        }
        const { pool, driver } = entry;
        // The first open checks out a client, so bad credentials or an unknown database fail here;
        // once the pool holds a connection, opening costs nothing.
        if (pool.totalCount === 0) (await checkoutSqlSession(driver, signal)).release(false);
        return releasableHandle("PostgreSQL", (request) => runSqlStep(driver, request, config));
      },

      async healthCheck(connection, { signal }): Promise<HealthResult> {
        let client: pg.Client | undefined;
        const result = await sqlHealthCheck(POSTGRES, async () => {
          if (signal.aborted) throw sqlAbortError(POSTGRES, signal.reason);
          const resolved = resolve(connection, config);
          const probe = new pg.Client(resolved.client);
          client = probe;
          const onAbort = () => void probe.end().catch(() => {});
          signal.addEventListener("abort", onAbort, { once: true });
          try {
            await probe.connect();
            await probe.query("SELECT 1");
          } catch (error) {
            if (signal.aborted) throw sqlAbortError(POSTGRES, signal.reason);
            throw connectionError(error, resolved.target);
          } finally {
            signal.removeEventListener("abort", onAbort);
          }
        });
        // Closing the probe is not part of the latency.
        await client?.end().catch(() => {});
        if (!result.ok) {
          logger.warn({ connection: connection.name, reason: result.reason }, "postgres health check failed");
        }
        return result;
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
