/**
 * The intake queue with two engine instances sharing one PostgreSQL database (a fresh one for
 * this file): one instance at a time works the queue under its named lease, so a burst of
 * webhooks sent to both is stored once and analyzed once, and every submitter answered
 * `processed` gets its tickets, whichever instance stored them; when the holder dies mid-drain,
 * the other takes over once the lease runs out; an unfinished durable CSV import is resumed by
 * exactly one of two instances starting together.
 */
import { randomBytes } from "node:crypto";
import {
  createEngine,
  defineAnalyzerStage,
  type Engine,
  type EngineEventMap,
  rwError,
  type Storage,
  type WebhookRequest,
} from "@runwarden/core";
import { createPostgresStorage } from "@runwarden/storage-postgres";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const server = process.env.RUNWARDEN_PG_URL ?? "postgres://postgres@127.0.0.1:5432";
const leaseTtlMs = 1_200;
/** A fresh database per test. */
let database: string;
let url: string;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${server}/postgres`, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const engines: Engine[] = [];
/** Tickets each analyzer stage saw, by title, over both instances. */
let analyzed: Map<string, number>;
/** The first analysis of a title starting with "hold" waits here (its instance holds the lease). */
let hold: { open(): void; opened: Promise<void>; arrived: Promise<void>; reached(): void };

beforeEach(async () => {
  database = `rw_test_${randomBytes(6).toString("hex")}`;
  url = `${server}/${database}`;
  await admin(`CREATE DATABASE ${database}`);
  analyzed = new Map();
  let open!: () => void;
  let reached!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const arrived = new Promise<void>((resolve) => {
    reached = resolve;
  });
  hold = { open, opened, arrived, reached };
});
afterEach(async () => {
  hold.open();
  await Promise.allSettled(engines.splice(0).map((engine) => engine.close()));
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
});

async function instance(
  id: "a" | "b",
  wrap: (storage: Storage) => Storage = (storage) => storage,
): Promise<{ engine: Engine; storage: Storage }> {
  const storage = await createPostgresStorage({ connectionString: url });
  const engine = await createEngine({
    storage: wrap(storage),
    instanceId: `engine-${id}`,
    vault: { key: Buffer.alloc(32, 7) },
    policy: { leaseTtlMs },
    intake: { enabled: true, acknowledge: "processed" },
    analyzer: {
      stages: (built) => [
        defineAnalyzerStage({
          name: "count",
          async run(state) {
            const title = state.ticket.title;
            analyzed.set(title, (analyzed.get(title) ?? 0) + 1);
            if (title.startsWith("hold") && analyzed.get(title) === 1) {
              hold.reached();
              await hold.opened;
            }
          },
        }),
        ...built,
      ],
    },
  });
  engines.push(engine);
  return { engine, storage };
}

function generic(title: string): WebhookRequest {
  const body = { title, description: "queued", severity: "high", environment: "dev", service: "ci" };
  return { headers: { "content-type": "application/json" }, body, rawBody: JSON.stringify(body) };
}

async function waitFor(check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("the intake queue with two engines on PostgreSQL", () => {
  it("stores a burst sent to both engines once, analyzes each delivery once and answers every submitter", async () => {
    const { engine: a } = await instance("a");
    const { engine: b } = await instance("b");
    const processedBy = { a: new Set<number>(), b: new Set<number>() };
    a.events.on("intake:processed", ({ entryId }) => processedBy.a.add(entryId));
    b.events.on("intake:processed", ({ entryId }) => processedBy.b.add(entryId));
    const failed: string[] = [];
    for (const engine of [a, b]) engine.events.on("intake:failed", ({ code }) => failed.push(code));
    await Promise.all([a.start(), b.start()]);

    const count = 300;
    const submittedTo = { a: new Set<number>(), b: new Set<number>() };
    const results = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const on = i % 2 === 0 ? "a" : "b";
        const title = `burst ${i}`;
        const receipt = await (on === "a" ? a : b).intake.submitWebhook("generic", generic(title));
        submittedTo[on].add(receipt.entryId);
        return { title, result: await receipt.processed };
      }),
    );

    // Every submitter got its own ticket, whichever instance stored it.
    for (const { title, result } of results) {
      expect(result.tickets.map((t) => [t.ticket.title, t.deduplicated])).toEqual([[title, false]]);
      expect(result.warnings).toEqual([]);
    }
    // Each delivery stored by one instance, once; each analyzed once.
    expect(processedBy.a.size + processedBy.b.size).toBe(count);
    expect([...processedBy.a].filter((id) => processedBy.b.has(id))).toEqual([]);
    expect(analyzed.size).toBe(count);
    expect([...analyzed.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(failed).toEqual([]);
    const tickets = await a.storage.tickets.find({ where: { source: "generic" } });
    expect(tickets).toHaveLength(count);
    expect(new Set(tickets.map((t) => t.title)).size).toBe(count);
    expect(tickets.every((t) => t.occurrences === 1)).toBe(true);
    expect((await a.intake.depth()).entries).toBe(0);
    // Some deliveries were answered on the instance that did not store them (the outcome signal).
    const crossed =
      [...submittedTo.a].filter((id) => processedBy.b.has(id)).length +
      [...submittedTo.b].filter((id) => processedBy.a.has(id)).length;
    expect(crossed).toBeGreaterThan(0);
    // Idle: nobody holds the queue's lease.
    await waitFor(async () => (await a.storage.leases.get("intake:webhooks")) === undefined);
  });

  it("finishes on the other engine what the lease holder had when it died mid-drain", async () => {
    const one = await instance("a");
    const two = await instance("b");
    await Promise.all([one.engine.start(), two.engine.start()]);
    const inHand = await one.engine.intake.submitWebhook("generic", generic("hold in hand"));
    await hold.arrived;
    // Whichever instance took the delivery holds the lease: it is the one that dies.
    const owner = (await one.engine.storage.leases.get("intake:webhooks"))?.owner;
    const dying = owner === "engine-a" ? one : two;
    const { engine: a, storage: aStorage } = dying;
    const b = dying === one ? two.engine : one.engine;
    const processedOnB = new Set<number>();
    b.events.on("intake:processed", ({ entryId }) => processedOnB.add(entryId));
    const receipts = await Promise.all(
      Array.from({ length: 40 }, (_, i) => b.intake.submitWebhook("generic", generic(`while held ${i}`))),
    );
    // The holder (a) dies: its connections close without giving the lease up; it stops renewing.
    await aStorage.close();

    for (const [i, receipt] of receipts.entries()) {
      const result = await receipt.processed;
      expect(result.tickets.map((t) => t.ticket.title)).toEqual([`while held ${i}`]);
    }
    await waitFor(async () => (await b.intake.depth()).entries === 0);
    expect(processedOnB.has(inHand.entryId)).toBe(true);
    expect(processedOnB.size).toBe(41);
    hold.open();
    const tickets = await b.storage.tickets.find({ where: { source: "generic" } });
    expect(tickets.map((t) => t.title).sort()).toEqual(
      ["hold in hand", ...receipts.map((_, i) => `while held ${i}`)].sort(),
    );
    expect(tickets.every((t) => t.occurrences === 1)).toBe(true);
    // Only the delivery A had in hand when it died was analyzed twice (once on each instance).
    expect(analyzed.get("hold in hand")).toBe(2);
    expect([...analyzed.entries()].filter(([title, n]) => title !== "hold in hand" && n !== 1)).toEqual([]);
    // The submitter of the delivery in hand waited on the first instance: answered there when that
    // one lives on (the outcome signal), rejected by its close when it is the one that died.
    if (a === one.engine) {
      engines.splice(engines.indexOf(a), 1);
      await a.close().catch(() => undefined);
      await expect(inHand.processed).rejects.toMatchObject({ code: "RW_ERR_STORAGE_UNAVAILABLE" });
    } else {
      expect((await inHand.processed).tickets.map((t) => t.ticket.title)).toEqual(["hold in hand"]);
    }
  });

  it("resumes an unfinished CSV import on exactly one of two engines starting together", async () => {
    // A first instance's store fails after two chunks: the rest of the import stays queued.
    let writes = 0;
    const { engine: first } = await instance("a", (storage) => ({
      ...storage,
      ingestTickets: async (docs, options) => {
        if (++writes > 2) throw rwError("RW_ERR_STORAGE_UNAVAILABLE", "the store went away");
        return storage.ingestTickets(docs, options);
      },
    }));
    const rows = Array.from({ length: 60 }, (_, i) => `csv row ${i % 20},resumed,low,prod,api,csv`);
    const csv = ["title,description,severity,environment,service,source", ...rows, ""].join("\n");
    await expect(first.tickets.importCsv(csv, { batchSize: 10 })).rejects.toThrow("the store went away");
    engines.splice(engines.indexOf(first), 1);
    await first.close();

    const { engine: a } = await instance("a");
    const { engine: b } = await instance("b");
    expect((await a.intake.depth()).entries).toBe(5);
    const resumed: { on: string; report: EngineEventMap["import:resumed"] }[] = [];
    a.events.on("import:resumed", (report) => resumed.push({ on: "a", report }));
    b.events.on("import:resumed", (report) => resumed.push({ on: "b", report }));
    await Promise.all([a.start(), b.start()]);
    await waitFor(async () => resumed.length > 0 && (await a.intake.depth()).entries === 0);
    // Two periodic checks later, still one report.
    await new Promise((resolve) => setTimeout(resolve, (leaseTtlMs * 2) / 3 + 200));
    expect(resumed).toHaveLength(1);
    expect(resumed[0]!.report).toMatchObject({ rows: 60, rejected: 0, imported: 0, deduplicated: 40 });
    const tickets = await a.storage.tickets.find({ where: { source: "csv" } });
    expect(tickets).toHaveLength(20);
    expect(tickets.every((t) => t.occurrences === 3)).toBe(true);
  });
});
