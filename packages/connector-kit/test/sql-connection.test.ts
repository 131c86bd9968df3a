import { describe, expect, it } from "vitest";
import type { SqlConnection as ResolvedConnection } from "../src/sql-connection.js";
import { describeSql, isLoopbackHost, resolveSqlLogin, sqlStatement } from "../src/sql-connection.js";
import { thrown } from "./support.js";

const dollar = (parts: readonly string[]) => parts.reduce((sql, part, i) => `${sql}$${i}${part}`);

function connection(overrides: Partial<ResolvedConnection> = {}): ResolvedConnection {
  return {
    id: 1,
    name: "orders-db",
    connectionType: "database",
    targetHost: "db1.internal",
    targetPort: null,
    targetService: "postgresql",
    environment: "production",
    options: {},
    credential: {
      id: 1,
      name: "orders",
      credentialType: "database",
      environment: "production",
      value: { username: "ops", database_name: "orders", password: "pw-9f8e7d" },
      secrets: { password: "pw-9f8e7d" },
    },
    ...overrides,
  };
}

describe("isLoopbackHost", () => {
  it("is true for localhost, 127.x and ::1 only", () => {
    for (const host of ["localhost", "127.0.0.1", "127.1.2.3", "::1"])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ["db1", "10.0.0.1", "localhost.evil.test", "128.0.0.1"]) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });
});

describe("resolveSqlLogin", () => {
  it("reads the host, default port, user, password and database when the credential has them", () => {
    expect(resolveSqlLogin(connection(), { defaultPort: 5432 })).toEqual({
      host: "db1.internal",
      port: 5432,
      user: "ops",
      password: "pw-9f8e7d",
      database: "orders",
    });
  });

  it("falls back to the credential's host, port, user and database fields", () => {
    const login = resolveSqlLogin(
      connection({
        targetHost: null,
        credential: {
          id: 2,
          name: "c",
          credentialType: "database",
          environment: "production",
          value: { host: "db2", port: 3307, username: "root", database_name: "shop" },
          secrets: {},
        },
      }),
      { defaultPort: 3306 },
    );
    expect(login).toEqual({ host: "db2", port: 3307, user: "root", password: undefined, database: "shop" });
  });

  it("prefers the connection's target port", () => {
    expect(resolveSqlLogin(connection({ targetPort: 6543 }), { defaultPort: 5432 }).port).toBe(6543);
  });

  it("throws REJECTED when there is no host and AUTH when there is no user", () => {
    const noHost = thrown(() => resolveSqlLogin(connection({ targetHost: null }), { defaultPort: 5432 }));
    expect(noHost.code).toBe("RW_ERR_CONNECTOR_REJECTED");
    expect(noHost.message).toBe("connection orders-db has no target_host");
    const noUser = thrown(() => resolveSqlLogin(connection({ credential: null }), { defaultPort: 5432 }));
    expect(noUser.code).toBe("RW_ERR_CONNECTOR_AUTH");
    expect(noUser.details).toEqual({ reason: "auth" });
  });
});

describe("sqlStatement", () => {
  it("joins the parts with the driver's placeholders and keeps the values apart", () => {
    expect(
      sqlStatement(
        {
          command: "ignored",
          sql: { parts: ["SELECT * FROM t WHERE a = ", " AND b = ", ""], values: [1, "x'; DROP"] },
        },
        dollar,
      ),
    ).toEqual({ text: "SELECT * FROM t WHERE a = $1 AND b = $2", values: [1, "x'; DROP"] });
  });

  it("runs the command as it is when there is no sql", () => {
    expect(sqlStatement({ command: "SELECT 1" }, dollar)).toEqual({ text: "SELECT 1", values: [] });
  });

  it("throws REJECTED when the parts do not number one more than the values", () => {
    const error = thrown(() => sqlStatement({ command: "", sql: { parts: ["a", "b"], values: [] } }, dollar));
    expect(error.code).toBe("RW_ERR_CONNECTOR_REJECTED");
    expect(error.details).toEqual({ parts: 2, values: 0 });
  });
});

describe("describeSql", () => {
  it("says read-only, counts bound values and never shows them", () => {
    const line = describeSql(
      "postgresql db1:5432/app",
      {
        command: "",
        readOnly: true,
        sql: { parts: ["SELECT *\n  FROM jobs WHERE token = ", ""], values: ["tok-secret"] },
      },
      dollar,
    );
    expect(line).toBe(
      "postgresql db1:5432/app (read-only), 1 bound values: SELECT * FROM jobs WHERE token = $1",
    );
    expect(line).not.toContain("tok-secret");
  });

  it("cuts a long statement at 200 characters", () => {
    const line = describeSql(
      "mysql db:3306",
      { command: `SELECT ${"x".repeat(300)}`, readOnly: false },
      dollar,
    );
    expect(line.endsWith("…")).toBe(true);
    expect(line.length).toBe("mysql db:3306: ".length + 200);
  });
});
