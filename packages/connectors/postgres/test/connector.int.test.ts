import { createTestContext, testConnector } from "@runwarden/connector-testkit";
import type { ExecRequest, InfrastructureConnector, ResolvedConnection } from "@runwarden/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import postgresConnector from "../src/index.js";

const HOST = process.env.RW_PG_HOST ?? "127.0.0.1";
const PORT = Number(process.env.RW_PG_PORT ?? 5432);
const ADMIN = { host: HOST, port: PORT, user: process.env.RW_PG_USER ?? "postgres", database: "postgres" };

async function reachable(): Promise<boolean> {
  const client = new pg.Client({ ...ADMIN, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const up = await reachable();
const skip = !up && process.env.RUNWARDEN_IT !== "1";
const suffix = `${process.pid}_${Date.now().toString(36)}`;
const database = `rw_it_pg_${suffix}`;
const lockedRole = `rw_it_nologin_${suffix}`;
const lockedPassword = `pw-${suffix}-secret`;

let nextId = 1;
function connection(
  parts: Partial<ResolvedConnection> & {
    secrets?: Record<string, string>;
    fields?: Record<string, unknown>;
  } = {},
): ResolvedConnection {
  const id = nextId++;
  const { secrets = {}, fields = {}, ...rest } = parts;
  return {
    id,
    name: `pg-${id}`,
    connectionType: "database",
    targetHost: HOST,
    targetPort: PORT,
    targetService: "postgresql",
    environment: "test",
    options: { database },
    credential: {
      id,
      name: `pg-cred-${id}`,
      credentialType: "database",
      environment: "test",
      value: { username: ADMIN.user, ...fields, ...secrets },
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

async function admin<T>(fn: (client: pg.Client) => Promise<T>, db = "postgres"): Promise<T> {
  const client = new pg.Client({ ...ADMIN, database: db });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  if (skip) return;
  if (!up) throw new Error(`PostgreSQL is not answering on ${HOST}:${PORT}`);
  await admin((c) => c.query(`CREATE DATABASE ${database}`));
  await admin((c) => c.query(`CREATE ROLE ${lockedRole} NOLOGIN PASSWORD '${lockedPassword}'`));
  await admin(async (c) => {
    await c.query(
      "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, created timestamptz, data bytea)",
    );
    await c.query(
      "INSERT INTO items (name, created, data) VALUES ('alpha', '2024-01-02T03:04:05Z', '\\x0102'), ('beta', NULL, NULL)",
    );
  }, database);
});

afterAll(async () => {
  if (skip || !up) return;
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  await admin((c) => c.query(`DROP ROLE IF EXISTS ${lockedRole}`));
});

describe.skipIf(skip)("postgres connector against PostgreSQL", () => {
  let instance: InfrastructureConnector;
  const conn = connection();

  beforeAll(async () => {
    instance = (await postgresConnector.create(
      postgresConnector.configSchema.parse({}),
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
    const result = await run({ command: "SELECT id, name, created, data FROM items ORDER BY id" });
    expect(result.exitCode).toBe(0);
    expect(result.rowCount).toBe(2);
    expect(result.rows).toEqual([
      { id: 1, name: "alpha", created: "2024-01-02T03:04:05.000Z", data: "\\x0102" },
      { id: 2, name: "beta", created: null, data: null },
    ]);
    expect(result.stdout).toContain("id | name  | created");
    expect(result.stdout).toContain("(2 rows)");
  });

  it("binds every template value as a parameter when the value is hostile", async () => {
    const hostile = "x'); DROP TABLE items; --";
    const inserted = await run(sql`INSERT INTO items (name) VALUES (${hostile}) RETURNING name`);
    expect(inserted.rows).toEqual([{ name: hostile }]);
    const found = await run(sql`SELECT count(*)::int AS n FROM items WHERE name = ${hostile}`);
    expect(found.rows).toEqual([{ n: 1 }]);
    const stillThere = await admin((c) => c.query("SELECT count(*)::int AS n FROM items"), database);
    expect(stillThere.rows[0].n).toBe(3);
  });

  it("reports the affected row count when a statement changes rows", async () => {
    const result = await run(sql`UPDATE items SET name = name || ${"!"} WHERE name = ${"beta"}`);
    expect(result).toMatchObject({ exitCode: 0, rowCount: 1, stdout: "UPDATE 1\n" });
  });

  it("refuses writes in a read-only precheck and leaves the data unchanged", async () => {
    const result = await run({ ...sql`INSERT INTO items (name) VALUES (${"sneaky"})`, readOnly: true });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("25006");
    expect(result.stderr).toContain("read-only transaction");
    const count = await admin(
      (c) => c.query("SELECT count(*)::int AS n FROM items WHERE name = 'sneaky'"),
      database,
    );
    expect(count.rows[0].n).toBe(0);
  });

  it("runs reads in a read-only check", async () => {
    const result = await run({
      command: "SELECT current_setting('transaction_read_only') AS ro",
      readOnly: true,
    });
    expect(result.rows).toEqual([{ ro: "on" }]);
  });

  it("reports a failing statement as exit code 1 with the server's message and SQLSTATE", async () => {
    const result = await run({ command: "SELECT * FROM no_such_table" });
    expect(result).toMatchObject({ exitCode: 1, stdout: "" });
    expect(result.stderr).toMatch(/relation "no_such_table" does not exist[\s\S]*SQLSTATE: 42P01/);
  });

  it("cancels the query on the server when it outlives its timeout", async () => {
    const start = performance.now();
    const result = await run({ command: "SELECT pg_sleep(30)", timeoutMs: 300 });
    expect(performance.now() - start).toBeLessThan(3000);
    expect(result).toMatchObject({ exitCode: null, timedOut: true });
    expect(result.stderr).toContain("57014");
    const running = await admin((c) =>
      c.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'",
      ),
    );
    expect(running.rows[0].n).toBe(0);
  });

  it("rejects promptly and cancels the query on the server when the step is aborted", async () => {
    const controller = new AbortController();
    const handle = await instance.open(conn, { signal: controller.signal });
    const running = handle.exec(req({ command: "SELECT pg_sleep(29)", signal: controller.signal }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: "RW_ERR_CONNECTOR_TIMEOUT" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const active = await admin((c) =>
      c.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(29)' AND state = 'active'",
      ),
    );
    expect(active.rows[0].n).toBe(0);
  });

  it("keeps at most maxRows rows but counts them all when a query returns many", async () => {
    const small = (await postgresConnector.create(
      postgresConnector.configSchema.parse({ maxRows: 10, tableRows: 3 }),
      createTestContext().ctx,
    )) as InfrastructureConnector;
    try {
      const result = await run({ command: "SELECT g FROM generate_series(1, 1000) AS g" }, conn, small);
      expect(result.rows).toHaveLength(10);
      expect(result.rowCount).toBe(1000);
      expect(result.stdout).toContain("(1000 rows, 3 shown)");
    } finally {
      await small.close?.();
    }
  });

  it("refuses a second statement by default (extended protocol), so a script cannot drop a table", async () => {
    expect((await run({ command: "CREATE TABLE keep_me (id int)" })).exitCode).toBe(0);
    const result = await run({ command: "SELECT 1; DROP TABLE keep_me" });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/cannot insert multiple commands into a prepared statement/);
    const still = await run({ command: "SELECT to_regclass('keep_me')::text AS t" });
    expect(still.rows).toEqual([{ t: "keep_me" }]);
  });

  it("refuses a step in another language than sql", async () => {
    await expect(run({ command: "SELECT 'x' or 1=1", language: "sh" })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "language", language: "sh" },
    });
  });

  it("runs a multi-statement script without parameters when the connection allows it", async () => {
    const scripts = connection({ options: { database, multiple_statements: true } });
    // Its own instance, so its pool is closed again and the pool-size test counts only `conn`'s.
    const own = (await postgresConnector.create(
      postgresConnector.configSchema.parse({}),
      createTestContext().ctx,
    )) as InfrastructureConnector;
    const result = await run({ command: "SELECT 1 AS a; SELECT 2 AS b, 3 AS c" }, scripts, own).finally(() =>
      own.close?.(),
    );
    expect(result.rows).toEqual([{ b: 2, c: 3 }]);
    expect(result.stdout).toMatch(/a\n-\n1\n\(1 row\)\n\nb \| c/);
  });

  it("escapes control characters in the rendered table", async () => {
    const result = await run(sql`SELECT ${"\u001b[31mred\nline"}::text AS v`);
    expect(result.stdout).toContain("\\x1b[31mred\\nline");
    expect(result.rows).toEqual([{ v: "\u001b[31mred\nline" }]);
  });

  it("fails with RW_ERR_CONNECTOR_AUTH when the server refuses the role", async () => {
    const refused = connection({ fields: { username: lockedRole }, secrets: { password: lockedPassword } });
    const error = await instance
      .open(refused, { signal: AbortSignal.timeout(5000) })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH", details: { reason: "auth" } });
    expect(
      JSON.stringify([(error as Error).message, (error as { details?: unknown }).details]),
    ).not.toContain(lockedPassword);
  });

  it("fails with RW_ERR_CONNECTOR_NOT_FOUND when the database does not exist", async () => {
    const missing = connection({ options: { database: "rw_it_no_such_db" } });
    await expect(instance.open(missing, { signal: AbortSignal.timeout(5000) })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_NOT_FOUND",
    });
  });

  it("fails with RW_ERR_CONNECTOR_UNREACHABLE when nothing listens on the port", async () => {
    await expect(
      instance.open(connection({ targetPort: 1 }), { signal: AbortSignal.timeout(5000) }),
    ).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_UNREACHABLE",
      details: { reason: "refused" },
    });
  });

  it("reports health with latency, and the reason when it fails", async () => {
    const ok = await instance.healthCheck(conn, { signal: AbortSignal.timeout(5000) });
    expect(ok.ok).toBe(true);
    expect(ok.latencyMs).toBeGreaterThan(0);
    const refused = await instance.healthCheck(connection({ targetPort: 1 }), {
      signal: AbortSignal.timeout(5000),
    });
    expect(refused).toMatchObject({ ok: false, reason: "refused" });
    const dns = await instance.healthCheck(connection({ targetHost: "no-such-host.invalid" }), {
      signal: AbortSignal.timeout(5000),
    });
    expect(dns).toMatchObject({ ok: false, reason: "DNS" });
    const auth = await instance.healthCheck(connection({ fields: { username: lockedRole } }), {
      signal: AbortSignal.timeout(5000),
    });
    expect(auth).toMatchObject({ ok: false, reason: "auth" });
  });

  it("serves concurrent steps from one pool of at most pool.max connections", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => run(sql`SELECT ${i}::int AS i, pg_sleep(0.05)`)),
    );
    expect(results.map((r) => r.rows?.[0]?.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const sessions = await admin((c) =>
      c.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'runwarden'",
        [database],
      ),
    );
    expect(sessions.rows[0].n).toBeLessThanOrEqual(4);
  });

  it("describes a step with the target, the mode and the number of bound values", () => {
    const line = instance.describe?.(
      { language: "sql", readOnly: true, ...sql`SELECT * FROM items WHERE name = ${"x"}` },
      conn,
    );
    expect(line).toBe(
      `postgresql ${HOST}:${PORT}/${database} (read-only), 1 bound values: SELECT * FROM items WHERE name = $1`,
    );
  });
});

if (!skip) {
  testConnector(postgresConnector, {
    config: {},
    connection: connection(),
    request: { command: "SELECT 1 AS one", language: "sql" },
    slowRequest: { command: "SELECT pg_sleep(30)", language: "sql" },
    rejectedConnection: connection({
      fields: { username: lockedRole },
      secrets: { password: lockedPassword },
    }),
  });
}
