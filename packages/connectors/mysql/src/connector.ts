/**
 * The MySQL / MariaDB connector: SQL steps with server-side bound parameters, read-only prechecks
 * and postchecks, KILL QUERY on timeout or abort, pooled connections.
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
import mysql, { type Pool } from "mysql2";
import { type MysqlConfig, mysqlConfigSchema } from "./config.js";
import { mysqlDriver } from "./internal/driver.js";
import { connectionError, MYSQL } from "./internal/errors.js";
import { joinParts } from "./internal/query.js";
import { type Resolved, resolve } from "./internal/resolve.js";

/** The MySQL / MariaDB connector declaration (default export of `@runwarden/connector-mysql`). */
const mysqlConnector = defineConnector({
  kind: "infrastructure",
  name: "mysql",
  version: "0.1.0",
  sdk: "^0.1.0",
  description: "Runs SQL steps on MySQL and MariaDB (mysql2) with bound parameters and read-only checks.",
  configSchema: mysqlConfigSchema,
  capabilities: [
    "run-query",
    "read-only-transaction",
    "cancel-query",
    "timeout",
    "health-check",
    "describe",
    "connection-pool",
  ],
  connectionTypes: ["database:mysql", "database:mariadb"],
  languages: ["sql"],
  credentialTypes: sqlCredentialTypes,
  create(config: MysqlConfig, ctx): InfrastructureConnector<SqlCredential> {
    const logger = ctx.logger.child({ component: "mysql" });
    const pools = new Map<string, Pool>();
    const warm = new Set<string>();
    let closed = false;
    // The same connection object maps to the same pool and driver without resolving it again.
    const drivers = new WeakMap<SqlConnection, { key: string; driver: SqlDriver }>();

    function poolFor(resolved: Resolved): Pool {
      let pool = pools.get(resolved.key);
      if (!pool) {
        pool = mysql.createPool({
          ...resolved.options,
          connectionLimit: config.pool.max,
          maxIdle: config.pool.max,
          idleTimeout: config.pool.idleTimeoutMs,
          enableKeepAlive: true,
        });
        pools.set(resolved.key, pool);
      }
      return pool;
    }

    return {
      async open(connection, { signal }): Promise<ConnectionHandle> {
        if (signal.aborted) throw sqlAbortError(MYSQL, signal.reason);
        if (closed) throw rwError("RW_ERR_CONNECTOR_REJECTED", "the MySQL connector is closed");
        let entry = drivers.get(connection);
        if (!entry) {
          const resolved = resolve(connection, config);
          entry = { key: resolved.key, driver: mysqlDriver(resolved, poolFor(resolved), logger) };
          drivers.set(connection, entry);
        }
        const { key, driver } = entry;
        // The first open checks out a connection, so bad credentials or an unknown database fail
        // here; once the pool holds a connection, opening costs nothing.
        if (!warm.has(key)) {
          (await checkoutSqlSession(driver, signal)).release(false);
          warm.add(key);
        }
        return releasableHandle("MySQL", (request) => runSqlStep(driver, request, config));
      },

      async healthCheck(connection, { signal }): Promise<HealthResult> {
        const result = await sqlHealthCheck(MYSQL, async () => {
          if (signal.aborted) throw sqlAbortError(MYSQL, signal.reason);
          const resolved = resolve(connection, config);
          await new Promise<void>((resolvePromise, reject) => {
            const probe = mysql.createConnection(resolved.options);
            const onAbort = () => {
              probe.destroy();
              reject(sqlAbortError(MYSQL, signal.reason));
            };
            signal.addEventListener("abort", onAbort, { once: true });
            probe.on("error", () => {});
            probe.query("SELECT 1", (error) => {
              signal.removeEventListener("abort", onAbort);
              probe.destroy();
              if (error) reject(connectionError(error, resolved.target));
              else resolvePromise();
            });
          });
        });
        if (!result.ok) {
          logger.warn({ connection: connection.name, reason: result.reason }, "mysql health check failed");
        }
        return result;
      },

      describe(request, connection) {
        const db =
          (connection.options?.database as string | undefined) ?? connection.credential?.value.database_name;
        const target = `${connection.targetService ?? "mysql"} ${connection.targetHost ?? "?"}:${connection.targetPort ?? 3306}${db ? `/${String(db)}` : ""}`;
        return describeSql(target, request, joinParts);
      },

      async close() {
        closed = true;
        const all = [...pools.values()];
        pools.clear();
        await Promise.all(all.map((pool) => new Promise<void>((done) => pool.end(() => done()))));
      },
    };
  },
});

export default mysqlConnector;
