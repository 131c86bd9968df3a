import { testConnector } from "@runwarden/connector-testkit";
import { describe, expect, it } from "vitest";
import mysqlConnector from "../src/index.js";
import { joinParts } from "../src/internal/query.js";

// The contract suite against a closed loopback port: no server needed.
testConnector(mysqlConnector, {
  config: { pool: { max: 2 } },
  invalidConfigs: [{ pool: { max: 0 } }, { tableRows: -1 }, { unknown: 1 }],
  request: { command: "SELECT 1", language: "sql" },
});

describe("joinParts", () => {
  it("puts a ? between the parts", () => {
    expect(joinParts(["DELETE FROM t WHERE id = ", " LIMIT ", ""])).toBe(
      "DELETE FROM t WHERE id = ? LIMIT ?",
    );
  });
});
