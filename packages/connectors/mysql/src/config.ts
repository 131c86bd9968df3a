import { sqlConfigSchema, sqlConnectionOptionsSchema } from "@runwarden/connector-kit";
import type { z } from "zod";

/**
 * The connector's configuration: pool sizes, timeouts and result limits (the shared SQL
 * connector configuration of `@runwarden/connector-kit`).
 */
export const mysqlConfigSchema = sqlConfigSchema;

/** The parsed configuration. */
export type MysqlConfig = z.output<typeof mysqlConfigSchema>;

/**
 * Per-connection options. The database comes from here, else the credential's `database_name`,
 * else none (no default database). TLS defaults to `disable` for loopback hosts and `verify-full` otherwise.
 */
export const mysqlConnectionOptionsSchema = sqlConnectionOptionsSchema;

export type MysqlConnectionOptions = z.output<typeof mysqlConnectionOptionsSchema>;
