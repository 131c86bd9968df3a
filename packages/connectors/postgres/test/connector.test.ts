import { testConnector } from "@runwarden/connector-testkit";
import { describe, expect, it } from "vitest";
import postgresConnector from "../src/index.js";
import { joinParts } from "../src/internal/query.js";

// The contract suite against a closed loopback port: no server needed.
testConnector(postgresConnector, {
  config: { pool: { max: 2 } },
  invalidConfigs: [{ pool: { max: 0 } }, { maxRows: -1 }, { unknown: 1 }],
  request: { command: "SELECT 1", language: "sql" },
});

describe("joinParts", () => {
  it("numbers the placeholders $1..$n between the parts", () => {
    expect(joinParts(["SELECT * FROM t WHERE a = ", " AND b = ", ""])).toBe(
      "SELECT * FROM t WHERE a = $1 AND b = $2",
    );
    expect(joinParts(["SELECT 1"])).toBe("SELECT 1");
  });
});

describe("postgresConnector.configSchema", () => {
  it("fills defaults when the config is empty", () => {
    expect(postgresConnector.configSchema.parse({})).toMatchObject({
      pool: { max: 4 },
      statementTimeoutMs: 60_000,
      maxRows: 1000,
    });
  });
});
