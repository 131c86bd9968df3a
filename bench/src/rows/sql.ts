import mysqlConnector from "@runwarden/connector-mysql";
import postgresConnector from "@runwarden/connector-postgres";
import type { ConnectorContext, InfrastructureConnector, Logger, ResolvedConnection } from "@runwarden/core";
import mysql from "mysql2/promise";
import pg from "pg";
import { startDurableStep } from "../durable-step.js";
import {
  type BenchRow,
  defineRows,
  interleave,
  interleavedRow,
  latencyRow,
  median,
  percentile,
} from "../harness.js";

const silent = new Proxy(
  {},
  { get: (_, key) => (key === "child" ? () => silent : () => {}) },
) as unknown as Logger;

function connection(
  service: "postgresql" | "mysql",
  port: number,
  username: string,
  database: string,
): ResolvedConnection {
  return {
    id: 1,
    name: `bench-${service}`,
    connectionType: "database",
    targetHost: "127.0.0.1",
    targetPort: port,
    targetService: service,
    environment: "bench",
    options: { database },
    credential: {
      id: 1,
      name: "bench",
      credentialType: "database",
      environment: "bench",
      value: { username },
      secrets: {},
    },
  };
}

/**
 * Times `a` and `b` alternately, one call each per iteration (order flipped every iteration), so
 * load from other processes on a shared machine hits both sides alike.
 */
async function interleaved(n: number, a: () => Promise<unknown>, b: () => Promise<unknown>) {
  for (let i = 0; i < 100; i++) {
    await a();
    await b();
  }
  const ours: number[] = [];
  const base: number[] = [];
  const time = async (fn: () => Promise<unknown>, into: number[]) => {
    const start = performance.now();
    await fn();
    into.push(performance.now() - start);
  };
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      await time(a, ours);
      await time(b, base);
    } else {
      await time(b, base);
      await time(a, ours);
    }
  }
  return { ours, base };
}

async function compare(
  name: string,
  instance: InfrastructureConnector,
  on: ResolvedConnection,
  raw: () => Promise<unknown>,
  n: number,
  signal: AbortSignal,
): Promise<BenchRow> {
  const step = async () => {
    const handle = await instance.open(on, { signal });
    try {
      await handle.exec({ command: "SELECT 1", language: "sql", readOnly: false, signal });
    } finally {
      await handle.release();
    }
  };
  const { ours, base } = await interleaved(n, step, raw);
  return latencyRow(
    name,
    "ms/step",
    median(ours),
    median(base),
    1.2,
    `p99 ${percentile(ours, 99).toFixed(3)} vs ${percentile(base, 99).toFixed(3)} ms, n=${n}`,
  );
}

/**
 * A trivial SQL step (`SELECT 1`: open + exec + release, rows rendered) against the driver's raw
 * pooled query on the machine's PostgreSQL and MariaDB (goal <= 1.2×), each in the protocol the
 * connector uses (PostgreSQL: extended, which runs one statement). Then a durable `SELECT 1` step
 * through the executor on PostgreSQL (an engine on SQLite, the connection created through its API,
 * an approved one-step runbook naming it; ticket → session finished, every transition persisted)
 * against the same connector call, one sample each interleaved (goal: median <= 10×: a query
 * this cheap is dwarfed by any durable bookkeeping, so the goal bounds that bookkeeping at about
 * ten local round trips to PostgreSQL, a millisecond or two).
 */
export default defineRows("SQL", async ({ quick }) => {
  const n = quick ? 1000 : 5000;
  const ctx: ConnectorContext = {
    logger: silent,
    signal: new AbortController().signal,
    now: () => new Date(),
  };
  const rows: BenchRow[] = [];

  const pgInstance = (await postgresConnector.create(
    postgresConnector.configSchema.parse({}),
    ctx,
  )) as InfrastructureConnector;
  const pgPool = new pg.Pool({
    host: "127.0.0.1",
    port: 5432,
    user: "postgres",
    database: "postgres",
    max: 4,
  });
  try {
    rows.push(
      await compare(
        "SQL step (pg): connector vs pg pool.query",
        pgInstance,
        connection("postgresql", 5432, "postgres", "postgres"),
        // Like for like: the connector sends every step in the extended protocol (one statement
        // per step, values always bound; issue 13), so the raw baseline does too.
        () => pgPool.query({ text: "SELECT 1", queryMode: "extended" } as pg.QueryConfig),
        n,
        ctx.signal,
      ),
    );
    const samples = quick ? 150 : 600;
    const durable = await startDurableStep({
      connector: postgresConnector,
      credential: {
        name: "bench-pg",
        credentialType: "database",
        username: "postgres",
      } as Parameters<typeof startDurableStep>[0]["credential"],
      connection: {
        connectionType: "database",
        targetHost: "127.0.0.1",
        targetPort: 5432,
        targetService: "postgresql",
        options: { database: "postgres" },
      },
      step: "`SELECT 1`",
      sessions: samples + 10,
    });
    const on = connection("postgresql", 5432, "postgres", "postgres");
    try {
      const viaExecutor = await interleave(
        () => durable.run(),
        async () => {
          const start = performance.now();
          const handle = await pgInstance.open(on, { signal: ctx.signal });
          try {
            await handle.exec({ command: "SELECT 1", language: "sql", readOnly: false, signal: ctx.signal });
          } finally {
            await handle.release();
          }
          return performance.now() - start;
        },
        { rounds: samples, warmup: 10 },
      );
      rows.push(
        interleavedRow(
          "latency",
          "SQL durable step (pg) via executor (SQLite) vs connector call",
          "ms/step",
          viaExecutor,
          10,
          {
            note: `ticket → session finished, 1 in flight; p99 ${percentile(viaExecutor.ours, 99).toFixed(2)} vs ${percentile(viaExecutor.baseline, 99).toFixed(3)} ms`,
          },
        ),
      );
    } finally {
      await durable.close();
    }
  } finally {
    await pgInstance.close?.();
    await pgPool.end();
  }

  const myInstance = (await mysqlConnector.create(
    mysqlConnector.configSchema.parse({}),
    ctx,
  )) as InfrastructureConnector;
  const myPool = mysql.createPool({ host: "127.0.0.1", port: 3306, user: "root", connectionLimit: 4 });
  try {
    rows.push(
      await compare(
        "SQL step (mysql2): connector vs pool.query",
        myInstance,
        connection("mysql", 3306, "root", "mysql"),
        () => myPool.query("SELECT 1"),
        n,
        ctx.signal,
      ),
    );
  } finally {
    await myInstance.close?.();
    await myPool.end();
  }
  return rows;
});
