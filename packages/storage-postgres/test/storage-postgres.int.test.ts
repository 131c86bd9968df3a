import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeStorageContract, expectCode, waitFor } from "../../core/test/storage/contract.js";
import { newTicket } from "../../core/test/storage/fixtures.js";
import { createPostgresStorage, postgresSchemaVersion } from "../src/index.js";

const server = process.env.RUNWARDEN_PG_URL ?? "postgres://postgres@127.0.0.1:5432";
const required = process.env.RUNWARDEN_IT === "1";
const database = `rw_test_${randomBytes(6).toString("hex")}`;
const url = `${server}/${database}`;

async function admin<R>(work: (client: pg.Client) => Promise<R>): Promise<R> {
  const client = new pg.Client({ connectionString: `${server}/postgres`, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const reachable = await admin(async () => true).catch((err: unknown) => {
  if (required)
    throw new Error(`PostgreSQL is required (RUNWARDEN_IT=1) but unreachable at ${server}`, { cause: err });
  return false;
});

describe.runIf(reachable)("createPostgresStorage", () => {
  beforeAll(async () => {
    await admin((c) => c.query(`CREATE DATABASE ${database}`));
  });
  afterAll(async () => {
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  });

  /** Every test starts on empty tables (migrations stay applied). */
  async function fresh() {
    const storage = await createPostgresStorage({ connectionString: url, pool: { max: 8 } });
    await admin(async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query<{ t: string }>(
        "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'rw\\_%' AND tablename <> 'rw_migrations'",
      );
      await client.query(`TRUNCATE ${rows.map((r) => r.t).join(", ")} RESTART IDENTITY`);
      await client.end();
    });
    return storage;
  }

  describeStorageContract("postgres", async () => ({
    storage: await fresh(),
    reopen: () => createPostgresStorage({ connectionString: url }),
    peer: () => createPostgresStorage({ connectionString: url }),
  }));

  it("is shared and delivers signals between instances", async () => {
    const a = await fresh();
    const b = await createPostgresStorage({ connectionString: url });
    try {
      expect([a.kind, a.shared]).toEqual(["postgres", true]);
      const got: string[] = [];
      b.signals.subscribe("sessions.ready", (payload) => got.push(payload));
      // b's LISTEN is in flight; publishing from b itself waits for it, so use b to sync first.
      await b.signals.publish("noop", "");
      await a.signals.publish("sessions.ready", "7");
      await waitFor(() => got.length === 1);
      expect(got).toEqual(["7"]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("keeps listening when its listener connection is killed", async () => {
    const a = await fresh();
    try {
      const got: string[] = [];
      a.signals.subscribe("t", (payload) => got.push(payload));
      await a.signals.publish("t", "before");
      await waitFor(() => got.length === 1);
      await admin((c) =>
        c.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'",
          [database],
        ),
      );
      await waitFor(() => {
        void a.signals.publish("t", "after").catch(() => {});
        return got.includes("after");
      }, 10_000);
    } finally {
      await a.close();
    }
  });

  it("migrates once when two instances start together on a new database", async () => {
    const other = `${database}_m`;
    await admin((c) => c.query(`CREATE DATABASE ${other}`));
    try {
      const stores = await Promise.all(
        [1, 2, 3].map(() => createPostgresStorage({ connectionString: `${server}/${other}` })),
      );
      await Promise.all(stores.map((s) => s.close()));
      const client = new pg.Client({ connectionString: `${server}/${other}` });
      await client.connect();
      const { rows } = await client.query("SELECT version FROM rw_migrations ORDER BY version");
      expect(rows.map((r) => r.version)).toEqual(
        Array.from({ length: postgresSchemaVersion }, (_, i) => i + 1),
      );
      // A newer schema is refused.
      await client.query("INSERT INTO rw_migrations (version) VALUES ($1)", [postgresSchemaVersion + 1]);
      await client.end();
      await expectCode(
        createPostgresStorage({ connectionString: `${server}/${other}` }),
        "RW_ERR_STORAGE_MIGRATION",
      );
    } finally {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${other} WITH (FORCE)`));
    }
  });

  it("reports an unreachable database as unavailable without leaking the connection string", async () => {
    const err = await expectCode(
      createPostgresStorage({
        connectionString: "postgres://user:hunter2@127.0.0.1:1/db",
        pool: { connectionTimeoutMillis: 1_000 },
      }),
      "RW_ERR_STORAGE_UNAVAILABLE",
    );
    expect(JSON.stringify(err.toJSON())).not.toContain("hunter2");
    expect(err.message).not.toContain("hunter2");
    expect(err.message).toContain("127.0.0.1:1");
    expect(err.message).not.toContain("user");
  });

  it("names a database that does not exist when it cannot start", async () => {
    const err = await expectCode(
      createPostgresStorage({ connectionString: `${server}/rw_missing_${randomBytes(4).toString("hex")}` }),
      "RW_ERR_STORAGE_UNAVAILABLE",
    );
    expect(err.message).toMatch(/database "rw_missing_[0-9a-f]+" does not exist there: create it first/);
    expect(err.details).toMatchObject({ code: "3D000" });
  });

  it("refuses a NUL character, which PostgreSQL cannot store", async () => {
    const storage = await fresh();
    try {
      await expectCode(storage.tickets.insert(newTicket({ title: "a\u0000b" })), "RW_ERR_INPUT_INVALID");
    } finally {
      await storage.close();
    }
  });

  it("times out a statement that runs too long", async () => {
    const storage = await createPostgresStorage({ connectionString: url, statementTimeoutMs: 50 });
    try {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query("BEGIN");
      await client.query("LOCK TABLE rw_kv IN ACCESS EXCLUSIVE MODE");
      await expectCode(storage.getValue("k"), "RW_ERR_STORAGE_UNAVAILABLE");
      await client.query("ROLLBACK");
      await client.end();
    } finally {
      await storage.close();
    }
  });
});

describe("createPostgresStorage without a server", () => {
  it("refuses an empty connection string", async () => {
    await expectCode(createPostgresStorage({ connectionString: "" }), "RW_ERR_CONFIG_INVALID");
  });
});
