import { sqlConfigSchema, sqlConnectionOptionsSchema } from "@runwarden/connector-kit";
import { z } from "zod";

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
 * `multiple_statements: true` lets a step without template values run a script of several
 * statements; it is off by default, and a step with values is always one prepared statement.
 */
export const mysqlConnectionOptionsSchema = sqlConnectionOptionsSchema.extend({
  multiple_statements: z.boolean().default(false),
});

export type MysqlConnectionOptions = z.output<typeof mysqlConnectionOptionsSchema>;
