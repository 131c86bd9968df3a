/** Where a MySQL connection goes and how the pool connects to it, from the connection record. */
import {
  isLoopbackHost,
  parseConnectionOptions,
  poolKey,
  resolveSqlLogin,
  type SqlConnection,
} from "@runwarden/connector-kit";
import type { ConnectionOptions } from "mysql2";
import { type MysqlConfig, mysqlConnectionOptionsSchema } from "../config.js";
import type { Target } from "./errors.js";

/** A resolved connection: the pool key, the target for messages, the driver's options. */
export interface Resolved {
  /** The pool key: an HMAC of the login (see `poolKey`), never holding the password. */
  key: string;
  target: Target;
  options: ConnectionOptions;
}

export function resolve(connection: SqlConnection, config: MysqlConfig): Resolved {
  const options = parseConnectionOptions(mysqlConnectionOptionsSchema, connection, "MySQL");
  const login = resolveSqlLogin(connection, { defaultPort: 3306 });
  const { host, port, user, password } = login;
  const database = options.database ?? login.database;
  const tls = options.tls ?? (isLoopbackHost(host) ? "disable" : "verify-full");
  const connectionOptions: ConnectionOptions = {
    host,
    port,
    user,
    ...(password === undefined ? {} : { password }),
    ...(database === undefined ? {} : { database }),
    ...(tls === "disable" ? {} : { ssl: { rejectUnauthorized: tls === "verify-full" } }),
    connectTimeout: config.connectTimeoutMs,
    // One statement per step unless the connection asks for scripts (`multiple_statements`);
    // a step with values is a server-side prepared statement, which is always one statement.
    multipleStatements: options.multiple_statements,
    supportBigNumbers: true,
    bigNumberStrings: true,
    charset: "utf8mb4",
  };
  // The pool key names the login, password included, by an HMAC digest: never the password itself.
  const key = poolKey([
    connection.id,
    host,
    port,
    database,
    user,
    password,
    tls,
    options.multiple_statements,
  ]);
  return { key, target: { host, port, database }, options: connectionOptions };
}
