/**
 * Issue 13, item 2, through the engine on real MariaDB and PostgreSQL: a SQL step written as a
 * list item used to default to the shell language, so ticket values were shell-quoted and pasted
 * into the SQL text (`x\' or 1=1 #` returned every row, `…; DROP TABLE …; #` dropped a table).
 * Now the step takes its connection's language (values bound as parameters), a step fenced as
 * `sh` on a SQL connection is refused before it runs, and one step is one statement.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSqlEngine, type SqlEngine } from "./fixtures/sql-engine.js";

let sql: SqlEngine;
beforeAll(async () => {
  sql = await createSqlEngine();
});
afterAll(async () => {
  await sql?.close();
});

const victims = async (dialect: "mariadb" | "postgresql") =>
  (await sql.query(dialect, "SELECT COUNT(*) AS n FROM victims"))[0]?.n;

describe("a SQL step written as a list item", () => {
  it("does not leak every row on MariaDB when the value is x\\' or 1=1 #", async () => {
    const detail = await sql.run(
      "# Lookup\n\n## Main Steps\n- `SELECT name FROM victims WHERE name = {{ticket.meta_data.user}}` (connection: mariadb)\n",
      { user: "x\\' or 1=1 #" },
    );
    expect(detail.session.status).toBe("succeeded");
    expect(detail.steps[0]).toMatchObject({ language: "sql", status: "succeeded" });
    expect(detail.steps[0]?.stdout).not.toMatch(/alice|bob|carol/);
    expect(detail.steps[0]?.stdout).toContain("(0 rows)");
  });

  it("does not drop a table on MariaDB when the value holds ; DROP TABLE …; #", async () => {
    const detail = await sql.run(
      "# Lookup\n\n## Main Steps\n- `SELECT name FROM victims WHERE name = {{ticket.meta_data.user}}` (connection: mariadb)\n",
      { user: "x\\'; DROP TABLE victims; #" },
    );
    expect(detail.steps[0]).toMatchObject({ language: "sql", status: "succeeded" });
    expect(Number(await victims("mariadb"))).toBe(3);
  });

  it("refuses values inside SQL quotes on MariaDB instead of leaking every row", async () => {
    const detail = await sql.run(
      "# Lookup\n\n## Main Steps\n- `SELECT name FROM victims WHERE name = '{{ticket.meta_data.a}}' AND id = '{{ticket.meta_data.b}}'` (connection: mariadb)\n",
      { a: "x\\", b: " or 1=1 #" },
    );
    expect(detail.session.status).toBe("failed");
    expect(detail.planError).toMatch(/RW_ERR_EXEC_TEMPLATE.*quoted text/);
    expect(detail.steps[0]?.stdout ?? "").not.toMatch(/alice|bob|carol/);
  });

  it("binds the value on PostgreSQL, so it comes back exactly as written", async () => {
    const value = "it's a \\'; DROP TABLE victims; --";
    const detail = await sql.run(
      "# Echo\n\n## Main Steps\n- `SELECT {{ticket.meta_data.v}}::text AS v` (connection: postgresql)\n",
      { v: value },
    );
    expect(detail.steps[0]).toMatchObject({ language: "sql", status: "succeeded" });
    expect(detail.steps[0]?.stdout).toContain(value);
    expect(Number(await victims("postgresql"))).toBe(3);
  });

  it("does not drop a table on PostgreSQL when a value closes an E'' string", async () => {
    const detail = await sql.run(
      "# Echo\n\n## Main Steps\n- `SELECT E'{{ticket.meta_data.v}}' AS v` (connection: postgresql)\n",
      { v: "\\'; DROP TABLE victims; --" },
    );
    expect(detail.session.status).toBe("failed");
    expect(Number(await victims("postgresql"))).toBe(3);
  });
});

describe("a step fenced as sh on a SQL connection", () => {
  it("is refused before it runs, with its line and column and what to write instead", async () => {
    const detail = await sql.run(
      "# Lookup\n\n## Main Steps\n\n```sh {connection=mariadb}\nSELECT name FROM victims WHERE name = {{ticket.meta_data.user}}\n```\n",
      { user: "x\\' or 1=1 #" },
    );
    expect(detail.session.status).toBe("failed");
    expect(detail.planError).toMatch(/RW_ERR_EXEC_CONNECTION/);
    expect(detail.planError).toMatch(/line 5:1/);
    expect(detail.planError).toMatch(/```sql fence/);
    expect(detail.steps[0]?.status).not.toBe("succeeded");
  });
});

describe("one statement per step", () => {
  for (const dialect of ["mariadb", "postgresql"] as const) {
    it(`refuses a second statement on ${dialect} unless the connection allows scripts`, async () => {
      const detail = await sql.run(
        `# Script\n\n## Main Steps\n\n\`\`\`sql {connection=${dialect}}\nSELECT 1; DROP TABLE victims\n\`\`\`\n`,
        {},
      );
      expect(detail.steps[0]?.status).toBe("failed");
      expect(Number(await victims(dialect))).toBe(3);
    });
  }
});
