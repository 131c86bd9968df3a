import { describe, expect, it } from "vitest";
import { sqlConfigSchema, sqlConnectionOptionsSchema } from "../src/sql-config.js";

describe("sqlConfigSchema", () => {
  it("fills every default when the config is empty", () => {
    expect(sqlConfigSchema.parse({})).toEqual({
      pool: { max: 4, idleTimeoutMs: 30_000 },
      connectTimeoutMs: 10_000,
      statementTimeoutMs: 60_000,
      maxRows: 1000,
      tableRows: 50,
    });
  });

  it("refuses unknown keys and out-of-range values", () => {
    expect(sqlConfigSchema.safeParse({ poolSize: 3 }).success).toBe(false);
    expect(sqlConfigSchema.safeParse({ pool: { max: 0 } }).success).toBe(false);
    expect(sqlConfigSchema.safeParse({ maxRows: 100_001 }).success).toBe(false);
    expect(sqlConfigSchema.safeParse({ statementTimeoutMs: 0 }).success).toBe(false);
  });
});

describe("sqlConnectionOptionsSchema", () => {
  it("takes a database and a TLS mode, and can be extended", () => {
    expect(sqlConnectionOptionsSchema.parse({ database: "app", tls: "require" })).toEqual({
      database: "app",
      tls: "require",
    });
    expect(sqlConnectionOptionsSchema.safeParse({ tls: "prefer" }).success).toBe(false);
    expect(
      sqlConnectionOptionsSchema
        .extend({ role: sqlConnectionOptionsSchema.shape.database })
        .parse({ role: "r" }),
    ).toEqual({ role: "r" });
  });
});
