/** Where a PostgreSQL connection goes and how the pool connects to it, from the connection record. */
import {
  isLoopbackHost,
  parseConnectionOptions,
  poolKey,
  resolveSqlLogin,
  type SqlConnection,
} from "@runwarden/connector-kit";
import type pg from "pg";
import { type PostgresConfig, postgresConnectionOptionsSchema } from "../config.js";
import type { Target } from "./errors.js";

/** Loopback, or a Unix socket directory (`/var/run/postgresql`): no TLS by default. */
const isLocal = (host: string) => isLoopbackHost(host) || host.startsWith("/");

/** A resolved connection: the pool key, the target for messages, pg's client config. */
export interface Resolved {
  /** The pool key: an HMAC of the login (see `poolKey`), never holding the password. */
  key: string;
  target: Target;
  client: pg.ClientConfig;
  /** The connection allows scripts of several statements (steps without values only). */
  multipleStatements: boolean;
}

export function resolve(connection: SqlConnection, config: PostgresConfig): Resolved {
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
  // The pool key names the login, password included, by an HMAC digest: never the password itself.
  const key = poolKey([connection.id, host, port, database, user, password, tls, client.application_name]);
  return {
    key,
    target: { host, port, database },
    client,
    multipleStatements: options.multiple_statements,
  };
}
