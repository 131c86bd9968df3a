import { createTestContext, testConnector } from "@runwarden/connector-testkit";
import type { ExecRequest, InfrastructureConnector, ResolvedConnection } from "@runwarden/core";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mysqlConnector from "../src/index.js";

const HOST = process.env.RW_MYSQL_HOST ?? "127.0.0.1";
const PORT = Number(process.env.RW_MYSQL_PORT ?? 3306);
const ADMIN = { host: HOST, port: PORT, user: process.env.RW_MYSQL_USER ?? "root", connectTimeout: 2000 };

async function admin<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection(ADMIN);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const up = await admin(async () => true).catch(() => false);
const skip = !up && process.env.RUNWARDEN_IT !== "1";
const suffix = `${process.pid}_${Date.now().toString(36)}`;
const database = `rw_it_my_${suffix}`;
const user = `rw_it_u_${suffix}`.slice(0, 32);
const password = `pw-${suffix}-secret`;

beforeAll(async () => {
  if (skip) return;
  if (!up) throw new Error(`MariaDB/MySQL is not answering on ${HOST}:${PORT}`);
  await admin(async (c) => {
    await c.query(`CREATE DATABASE ${database}`);
    await c.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    await c.query(`GRANT ALL ON ${database}.* TO '${user}'@'%'`);
    await c.query(
      `CREATE TABLE ${database}.items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL, created DATETIME NULL, data VARBINARY(16) NULL, big BIGINT NULL)`,
    );
    await c.query(
      `INSERT INTO ${database}.items (name, created, data, big) VALUES ('alpha', '2024-01-02 03:04:05', x'0102', 9007199254740993), ('beta', NULL, NULL, NULL)`,
    );
  });
});

afterAll(async () => {
  if (skip || !up) return;
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${database}`);
    await c.query(`DROP USER IF EXISTS '${user}'@'%'`);
  });
});

let nextId = 1;
function connection(
  parts: Partial<ResolvedConnection> & {
    secrets?: Record<string, string>;
    fields?: Record<string, unknown>;
  } = {},
): ResolvedConnection {
  const id = nextId++;
  const { secrets = { password }, fields = {}, ...rest } = parts;
  return {
    id,
    name: `my-${id}`,
    connectionType: "database",
    targetHost: HOST,
    targetPort: PORT,
    targetService: "mariadb",
    environment: "test",
    options: { database },
    credential: {
      id,
      name: `my-cred-${id}`,
      credentialType: "database",
      environment: "test",
      value: { username: user, ...fields, ...secrets },
      secrets,
    },
    ...rest,
  };
}

function sql(strings: TemplateStringsArray, ...values: unknown[]): Pick<ExecRequest, "command" | "sql"> {
  return { command: strings.join("?"), sql: { parts: [...strings], values } };
}

function req(body: Partial<ExecRequest>): ExecRequest {
  return { command: "", language: "sql", readOnly: false, signal: new AbortController().signal, ...body };
}

describe.skipIf(skip)("mysql connector against MariaDB", () => {
  let instance: InfrastructureConnector;
  const conn = connection();

  beforeAll(async () => {
    instance = (await mysqlConnector.create(
      mysqlConnector.configSchema.parse({}),
      createTestContext().ctx,
    )) as InfrastructureConnector;
  });
  afterAll(async () => {
    await instance?.close?.();
  });

  async function run(body: Partial<ExecRequest>, on = conn, target = instance) {
    const handle = await target.open(on, { signal: new AbortController().signal });
    try {
      return await handle.exec(req(body));
    } finally {
      await handle.release();
    }
  }

  it("returns JSON-safe rows, the row count and a text table when a query selects rows", async () => {
    const result = await run({
      command: "SELECT id, name, created, HEX(data) AS data, big FROM items ORDER BY id",
    });
    expect(result.exitCode).toBe(0);
    expect(result.rowCount).toBe(2);
    expect(result.rows?.[0]).toMatchObject({ id: 1, name: "alpha", data: "0102", big: "9007199254740993" });
    expect(typeof result.rows?.[0]?.created).toBe("string");
    expect(result.stdout).toContain("(2 rows)");
  });

  it("binds every template value on the server when the value is hostile", async () => {
    const hostile = "x'); DROP TABLE items; -- ?";
    const inserted = await run(sql`INSERT INTO items (name) VALUES (${hostile})`);
    expect(inserted).toMatchObject({ exitCode: 0, rowCount: 1, stdout: "Query OK, 1 rows affected\n" });
    const found = await run(sql`SELECT name FROM items WHERE name = ${hostile}`);
    expect(found.rows).toEqual([{ name: hostile }]);
    const [rows] = await admin((c) => c.query(`SELECT COUNT(*) AS n FROM ${database}.items`));
    expect((rows as { n: number }[])[0]?.n).toBe(3);
  });

  it("refuses writes in a read-only precheck and leaves the data unchanged", async () => {
    const result = await run({ ...sql`INSERT INTO items (name) VALUES (${"sneaky"})`, readOnly: true });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/ERROR 1792 \(25006\): .*READ ONLY transaction/i);
    const [rows] = await admin((c) =>
      c.query(`SELECT COUNT(*) AS n FROM ${database}.items WHERE name = 'sneaky'`),
    );
    expect((rows as { n: number }[])[0]?.n).toBe(0);
  });

  it("reports a failing statement as exit code 1 with errno and SQLSTATE", async () => {
    const result = await run({ command: "SELECT * FROM no_such_table" });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^ERROR 1146 \(42S02\): Table '.*no_such_table' doesn't exist/);
  });

  it("kills the query on the server when it outlives its timeout", async () => {
    const start = performance.now();
    const result = await run({ command: "SELECT SLEEP(30) AS s", timeoutMs: 300 });
    expect(performance.now() - start).toBeLessThan(3000);
    expect(result).toMatchObject({ exitCode: null, timedOut: true });
    const [rows] = await admin((c) =>
      c.query(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(30) AS s'",
      ),
    );
    expect((rows as { n: number }[])[0]?.n).toBe(0);
  });

  it("rejects promptly and kills the query when the step is aborted", async () => {
    const controller = new AbortController();
    const handle = await instance.open(conn, { signal: controller.signal });
    const running = handle.exec(req({ command: "SELECT SLEEP(29) AS s", signal: controller.signal }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: "RW_ERR_CONNECTOR_TIMEOUT" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const [rows] = await admin((c) =>
      c.query(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(29) AS s'",
      ),
    );
    expect((rows as { n: number }[])[0]?.n).toBe(0);
  });

  it("keeps at most maxRows rows but counts them all", async () => {
    const small = (await mysqlConnector.create(
      mysqlConnector.configSchema.parse({ maxRows: 10, tableRows: 3 }),
      createTestContext().ctx,
    )) as InfrastructureConnector;
    try {
      const result = await run({ command: "SELECT seq FROM seq_1_to_1000" }, conn, small);
      expect(result.rows).toHaveLength(10);
      expect(result.rowCount).toBe(1000);
      expect(result.stdout).toContain("(1000 rows, 3 shown)");
    } finally {
      await small.close?.();
    }
  });

  it("runs a multi-statement script without parameters when the connection allows it", async () => {
    const scripts = connection({ options: { database, multiple_statements: true } });
    // Its own instance, so its pool is closed again and the pool-size test counts only `conn`'s.
    const own = (await mysqlConnector.create(
      mysqlConnector.configSchema.parse({}),
      createTestContext().ctx,
    )) as InfrastructureConnector;
    const result = await run({ command: "SELECT 1 AS a; SELECT 2 AS b" }, scripts, own).finally(() =>
      own.close?.(),
    );
    expect(result.rows).toEqual([{ b: 2 }]);
    expect(result.stdout).toMatch(/a\n-\n1\n\(1 row\)\n\nb\n-\n2\n\(1 row\)\n/);
  });

  it("refuses a second statement by default, so a script cannot drop a table", async () => {
    const result = await run({ command: "SELECT 1; DROP TABLE items" });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/ERROR 1064/);
    const [rows] = await admin((c) => c.query(`SHOW TABLES FROM ${database} LIKE 'items'`));
    expect(rows as unknown[]).toHaveLength(1);
  });

  it("refuses a step in another language than sql", async () => {
    await expect(run({ command: "SELECT 'x' or 1=1", language: "sh" })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "language", language: "sh" },
    });
  });

  it("fails with RW_ERR_CONNECTOR_AUTH when the password is wrong, without echoing it", async () => {
    const wrong = connection({ secrets: { password: "definitely-wrong-pw" } });
    const error = await instance.open(wrong, { signal: AbortSignal.timeout(5000) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH", details: { reason: "auth" } });
    expect(
      JSON.stringify([(error as Error).message, (error as { details?: unknown }).details]),
    ).not.toContain("definitely-wrong-pw");
  });

  it("fails with RW_ERR_CONNECTOR_UNREACHABLE when nothing listens on the port", async () => {
    await expect(
      instance.open(connection({ targetPort: 1 }), { signal: AbortSignal.timeout(5000) }),
    ).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_UNREACHABLE",
      details: { reason: "refused" },
    });
  });

  it("fails with RW_ERR_CONNECTOR_NOT_FOUND when the database does not exist", async () => {
    const rootConn = connection({
      fields: { username: "root" },
      secrets: {},
      options: { database: "rw_it_no_such_db" },
    });
    await expect(instance.open(rootConn, { signal: AbortSignal.timeout(5000) })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_NOT_FOUND",
    });
  });

  it("reports health with latency, and the reason when it fails", async () => {
    expect(await instance.healthCheck(conn, { signal: AbortSignal.timeout(5000) })).toMatchObject({
      ok: true,
    });
    const refused = await instance.healthCheck(connection({ targetPort: 1 }), {
      signal: AbortSignal.timeout(5000),
    });
    expect(refused).toMatchObject({ ok: false, reason: "refused" });
    const auth = await instance.healthCheck(connection({ secrets: { password: "nope-nope" } }), {
      signal: AbortSignal.timeout(5000),
    });
    expect(auth).toMatchObject({ ok: false, reason: "auth" });
    const dns = await instance.healthCheck(connection({ targetHost: "no-such-host.invalid" }), {
      signal: AbortSignal.timeout(5000),
    });
    expect(dns).toMatchObject({ ok: false, reason: "DNS" });
  });

  it("serves concurrent steps from a pool of at most pool.max connections", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => run(sql`SELECT ${i} AS i, SLEEP(0.05) AS s`)),
    );
    expect(results.map((r) => Number(r.rows?.[0]?.i))).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const [rows] = await admin((c) =>
      c.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?", [user]),
    );
    expect((rows as { n: number }[])[0]?.n).toBeLessThanOrEqual(4);
  });

  it("describes a step with the service, the target and the bound values", () => {
    const line = instance.describe?.(
      { language: "sql", readOnly: false, ...sql`DELETE FROM items WHERE id = ${3}` },
      conn,
    );
    expect(line).toBe(`mariadb ${HOST}:${PORT}/${database}, 1 bound values: DELETE FROM items WHERE id = ?`);
  });
});

if (!skip) {
  testConnector(mysqlConnector, {
    config: {},
    connection: connection(),
    request: { command: "SELECT 1 AS one", language: "sql" },
    slowRequest: { command: "SELECT SLEEP(30)", language: "sql" },
    rejectedConnection: connection({ secrets: { password: "contract-wrong-pw" } }),
  });
}
