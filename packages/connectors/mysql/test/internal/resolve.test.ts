import type { SqlConnection } from "@runwarden/connector-kit";
import { describe, expect, it } from "vitest";
import { mysqlConfigSchema } from "../../src/config.js";
import { resolve } from "../../src/internal/resolve.js";

const PASSWORD = "pw-Zq81-rotating-secret";

function connection(password: string): SqlConnection {
  return {
    id: 3,
    name: "orders-db",
    connectionType: "database",
    targetHost: "db1.internal",
    targetPort: 3306,
    targetService: "mysql",
    environment: "production",
    options: { database: "orders" },
    credential: {
      id: 9,
      name: "orders",
      credentialType: "database",
      environment: "production",
      value: { username: "ops", password },
      secrets: { password },
    },
  };
}

describe("resolve", () => {
  const config = mysqlConfigSchema.parse({});

  it("keys the pool by a digest that does not contain the password", () => {
    const { key } = resolve(connection(PASSWORD), config);
    expect(key).not.toContain(PASSWORD);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
  });

  it("gives one key for the same login and another when the password changes", () => {
    expect(resolve(connection(PASSWORD), config).key).toBe(resolve(connection(PASSWORD), config).key);
    expect(resolve(connection(PASSWORD), config).key).not.toBe(resolve(connection("pw-next"), config).key);
  });
});
