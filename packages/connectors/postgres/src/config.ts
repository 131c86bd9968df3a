import { z } from "zod";

/** The connector's configuration: pool sizes, timeouts and result limits. */
export const postgresConfigSchema = z.strictObject({
  pool: z
    .strictObject({
      /** Connections per connection record. Default 4. */
      max: z.number().int().min(1).max(100).default(4),
      /** An idle pooled connection is closed after this long. Default 30 s. */
      idleTimeoutMs: z.number().int().positive().default(30_000),
    })
    .prefault({}),
  /** Connecting and authenticating. Default 10 s. */
  connectTimeoutMs: z.number().int().positive().default(10_000),
  /** A statement's timeout when the step sets none; the server cancels it then. Default 60 s. */
  statementTimeoutMs: z.number().int().positive().default(60_000),
  /** Rows kept in the result (the rest are counted, not kept). Default 1000. */
  maxRows: z.number().int().min(0).max(100_000).default(1000),
  /** Rows rendered into stdout's table. Default 50. */
  tableRows: z.number().int().min(0).max(10_000).default(50),
});

/** The parsed configuration. */
export type PostgresConfig = z.output<typeof postgresConfigSchema>;

/**
 * Per-connection options. The database comes from here, else the credential's `database_name`,
 * else `postgres`. TLS defaults to `disable` for loopback hosts and `verify-full` otherwise.
 */
export const postgresConnectionOptionsSchema = z.object({
  database: z.string().min(1).optional(),
  tls: z.enum(["disable", "require", "verify-full"]).optional(),
  application_name: z.string().max(63).optional(),
});

export type PostgresConnectionOptions = z.output<typeof postgresConnectionOptionsSchema>;
