import { sqlConfigSchema, sqlConnectionOptionsSchema } from "@runwarden/connector-kit";
import { z } from "zod";

/**
 * The connector's configuration: pool sizes, timeouts and result limits (the shared SQL
 * connector configuration of `@runwarden/connector-kit`).
 */
export const postgresConfigSchema = sqlConfigSchema;

/** The parsed configuration. */
export type PostgresConfig = z.output<typeof postgresConfigSchema>;

/**
 * Per-connection options. The database comes from here, else the credential's `database_name`,
 * else `postgres`. TLS defaults to `disable` for loopback hosts and `verify-full` otherwise.
 */
export const postgresConnectionOptionsSchema = sqlConnectionOptionsSchema.extend({
  application_name: z.string().max(63).optional(),
  /**
   * Let a step without template values run a script of several statements (the simple query
   * protocol). Off by default: every step is one statement over the extended protocol, and a
   * step with values always is.
   */
  multiple_statements: z.boolean().default(false),
});

export type PostgresConnectionOptions = z.output<typeof postgresConnectionOptionsSchema>;
