/**
 * Two engine instances share one PostgreSQL database (a fresh one for this file) and both poll
 * the same Datadog source: the lease lets one of them pull, once per interval, and the other
 * takes over when the first stops.
 */
import { randomBytes } from "node:crypto";
import { createEngine, type Engine } from "@runwarden/core";
import { createPostgresStorage } from "@runwarden/storage-postgres";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import datadog from "../../packages/connectors/datadog/src/index.js";
import { type FakeDatadog, fakeDatadog } from "../../packages/connectors/datadog/test/fake-datadog.js";

const server = process.env.RUNWARDEN_PG_URL ?? "postgres://postgres@127.0.0.1:5432";
const database = `rw_test_${randomBytes(6).toString("hex")}`;
const url = `${server}/${database}`;
const API_KEY = "dd-api-key-0123456789abcdef";
const APP_KEY = "dd-app-key-fedcba9876543210";
const INTERVAL = 400;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${server}/postgres`, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

let fake: FakeDatadog;
const engines: Engine[] = [];

beforeAll(() => admin(`CREATE DATABASE ${database}`));
afterAll(() => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
beforeEach(async () => {
  fake = await fakeDatadog({ apiKey: API_KEY, applicationKey: APP_KEY });
  fake.groups = [
    {
      monitor_id: 148275309,
      monitor_name: "High CPU on {{host.name}}",
      group: "host:web-01",
      group_tags: ["host:web-01"],
      status: "Alert",
    },
  ];
});
afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close();
  await fake.close();
});

async function instance(id: string): Promise<Engine> {
  const engine = await createEngine({
    storage: await createPostgresStorage({ connectionString: url }),
    instanceId: id,
    vault: { key: Buffer.alloc(32, 7) },
    connectors: [
      {
        connector: datadog,
        config: { webhookAuth: { type: "none" }, apiUrl: fake.url, apiKey: API_KEY, applicationKey: APP_KEY },
      },
    ],
    monitoring: { datadog: { intervalMs: INTERVAL, acknowledge: false } },
  });
  engines.push(engine);
  return engine;
}

/** When each pull happened: the `filter[to]` of its events request (the connector's clock). */
function pullTimes(): number[] {
  return fake
    .requestsTo("GET", "/api/v2/events")
    .map((r) => Number(r.query.get("filter[to]")))
    .sort((a, b) => a - b);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("createEngine monitoring on PostgreSQL", () => {
  it("pulls a source once per interval with two instances polling it, and fails over when the holder stops", async () => {
    const a = await instance("engine-a");
    const b = await instance("engine-b");
    const started = Date.now();
    await Promise.all([a.start(), b.start()]);
    await sleep(INTERVAL * 5 + 200);
    const times = pullTimes();
    const elapsed = Date.now() - started;

    // One pull per interval, never two in the same interval.
    expect(times.length).toBeGreaterThanOrEqual(4);
    expect(times.length).toBeLessThanOrEqual(Math.floor(elapsed / INTERVAL) + 1);
    for (let i = 1; i < times.length; i++)
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(INTERVAL - 40);

    const status = await a.monitoring.poller("datadog")!.status();
    expect(["engine-a", "engine-b"]).toContain(status.leaseOwner);
    expect(status).toMatchObject({ lastError: null, failures: 0 });
    expect((await a.tickets.list({ source: "datadog" })).items).toHaveLength(1);

    // The holder stops (and gives the lease up): the other instance keeps the pace.
    const holder = status.leaseOwner === "engine-a" ? a : b;
    const other = holder === a ? b : a;
    engines.splice(engines.indexOf(holder), 1);
    await holder.close();
    const before = pullTimes().length;
    await sleep(INTERVAL * 3);
    expect(pullTimes().length).toBeGreaterThanOrEqual(before + 2);
    expect((await other.monitoring.poller("datadog")!.status()).leaseOwner).toBe(other.instanceId);
  });
});
