/** The configuration every pooled SQL connector shares: pool sizes, timeouts, result limits. */
import { z } from "zod";

/**
 * A SQL connector's configuration: pool sizes, timeouts and result limits. A connector may use it
 * as it is (`configSchema: sqlConfigSchema`) or `.extend()` it.
 */
export const sqlConfigSchema = z.strictObject({
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

/** The parsed {@link sqlConfigSchema}. */
export type SqlConfig = z.output<typeof sqlConfigSchema>;

/**
 * Per-connection options every SQL connector takes: the database (else the credential's
 * `database_name`) and the TLS mode (default: `disable` for loopback hosts, `verify-full`
 * otherwise; see {@link isLoopbackHost}). Extend it for driver-specific options.
 */
export const sqlConnectionOptionsSchema = z.object({
  database: z.string().min(1).optional(),
  tls: z.enum(["disable", "require", "verify-full"]).optional(),
});

/** The parsed {@link sqlConnectionOptionsSchema}. */
export type SqlConnectionOptions = z.output<typeof sqlConnectionOptionsSchema>;
