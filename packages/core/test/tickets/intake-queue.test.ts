import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  createEngine,
  createMemoryStorage,
  defineAnalyzerStage,
  defineConnector,
  type Engine,
  isRunwardenError,
  rwError,
  type Storage,
  type WebhookRequest,
} from "../../src/index.js";
import { intakeLeaseName } from "../../src/tickets/intake-queue.js";

/** A generic webhook delivery of one ticket. */
function generic(title: string, extraHeaders: Record<string, string> = {}): WebhookRequest {
  const body = { title, description: "disk full", severity: "high", environment: "dev", service: "ci" };
  return {
    headers: { "content-type": "application/json", ...extraHeaders },
    body,
    rawBody: JSON.stringify(body),
  };
}

/** A monitoring connector checking a shared secret header, and refusing bodies marked `broken`. */
const pager = defineConnector({
  kind: "monitoring",
  name: "pager",
  version: "1.0.0",
  sdk: "^0.1.0",
  configSchema: z.object({}),
  capabilities: ["webhook", "verify-webhook"],
  create() {
    return {
      verifyWebhook: (request) => request.headers["x-pager-secret"] === "s3cret-value",
      parseWebhook: (request) => {
        const body = request.body as { alert?: string; broken?: boolean };
        if (body.broken) throw new Error("unreadable alert");
        return { tickets: [{ title: body.alert ?? "pager alert", severity: "high" }], warnings: [] };
      },
    };
  },
});

function pagerRequest(alert: string, extra: Record<string, unknown> = {}): WebhookRequest {
  const body = { alert, ...extra };
  return { headers: { "x-pager-secret": "s3cret-value" }, body, rawBody: JSON.stringify(body) };
}

async function codeOf(
  promise: Promise<unknown>,
): Promise<{ code: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (err) {
    if (isRunwardenError(err)) return { code: err.code, details: err.details };
    throw err;
  }
  throw new Error("expected a rejection");
}

/** An engine with the queue on, over `storage` kept open when the engine closes (a "restart"). */
async function engineOn(storage: Storage, intake: Record<string, unknown> = {}): Promise<Engine> {
  const kept: Storage = { ...storage, close: async () => {} };
  return createEngine({
    storage: kept,
    connectors: [{ connector: pager, config: {} }],
    intake: { enabled: true, ...intake },
  });
}

describe("createEngine({ intake })", () => {
  it("stores a queued webhook's tickets once started and removes its entry when processed", async () => {
    const storage = createMemoryStorage();
    const engine = await engineOn(storage);
    const receipt = await engine.intake.submitWebhook("generic", generic("queued disk full"));
    expect(receipt.depth.entries).toBe(1);
    // Nothing runs before start: the delivery waits, durable.
    expect((await engine.intake.depth()).entries).toBe(1);
    expect(await engine.storage.tickets.count()).toBe(0);
    await engine.start();
    const result = await receipt.processed;
    expect(result.tickets).toHaveLength(1);
    expect(result.tickets[0]!.ticket.title).toBe("queued disk full");
    expect((await engine.intake.depth()).entries).toBe(0);
    await engine.close();
  });

  it("refuses a webhook that fails verification before anything is queued", async () => {
    const storage = createMemoryStorage();
    const engine = await engineOn(storage);
    const request = pagerRequest("cpu");
    const refused = await codeOf(
      engine.intake.submitWebhook("pager", { ...request, headers: { "x-pager-secret": "wrong" } }),
    );
    expect(refused.code).toBe("RW_ERR_AUTH_UNAUTHENTICATED");
    const invalid = await codeOf(
      engine.intake.submitWebhook("generic", { headers: {}, body: {}, rawBody: "{}" }),
    );
    expect(invalid.code).toBe("RW_ERR_INPUT_INVALID");
    expect((await engine.intake.depth()).entries).toBe(0);
    await engine.close();
  });

  it("answers 429 past a source's share and 503 past the whole bound, storing nothing refused", async () => {
    const storage = createMemoryStorage();
    const engine = await engineOn(storage, { maxEntries: 4, sourceShare: 0.5, retryAfterSeconds: 3 });
    const refusals: string[] = [];
    engine.events.on("intake:refused", ({ source, full }) => refusals.push(`${source}:${full}`));
    await engine.intake.submitWebhook("generic", generic("g1"));
    await engine.intake.submitWebhook("generic", generic("g2"));
    const share = await codeOf(engine.intake.submitWebhook("generic", generic("g3")));
    expect(share.code).toBe("RW_ERR_INTAKE_SOURCE_FULL");
    expect(share.details).toMatchObject({
      source: "generic",
      retryAfterSeconds: 3,
      entries: 2,
      maxEntries: 2,
    });
    // The noisy source is held to its share: another source still gets in.
    await engine.intake.submitWebhook("pager", pagerRequest("p1"));
    await engine.intake.submitWebhook("pager", pagerRequest("p2"));
    const whole = await codeOf(engine.intake.submitWebhook("pager", pagerRequest("p3")));
    expect(whole.code).toBe("RW_ERR_INTAKE_FULL");
    expect(refusals).toEqual(["generic:source", "pager:queue"]);
    expect((await engine.intake.depth()).sources).toEqual({
      generic: expect.objectContaining({ entries: 2 }),
      pager: expect.objectContaining({ entries: 2 }),
    });
    // Everything acknowledged is stored once the engine runs: nothing lost.
    await engine.start();
    await waitFor(async () => (await engine.intake.depth()).entries === 0);
    const titles = (await engine.storage.tickets.find()).map((t) => t.title).sort();
    expect(titles).toEqual(["g1", "g2", "p1", "p2"]);
    await engine.close();
  });

  it("stores each source's deliveries in the order they were acknowledged", async () => {
    const storage = createMemoryStorage();
    const engine = await engineOn(storage);
    const stored: string[] = [];
    engine.events.on("ticket:ingested", () => undefined);
    const receipts = [];
    for (const title of ["a1", "b1", "a2", "b2", "a3"]) {
      const request = title.startsWith("a") ? generic(title) : pagerRequest(title);
      receipts.push(await engine.intake.submitWebhook(title.startsWith("a") ? "generic" : "pager", request));
    }
    await engine.start();
    for (const receipt of receipts) {
      const result = await receipt.processed;
      stored.push(`${result.tickets[0]!.ticket.title}#${result.tickets[0]!.ticket.id}`);
    }
    const idOf = (title: string) => Number(stored.find((s) => s.startsWith(`${title}#`))!.split("#")[1]);
    expect(idOf("a1")).toBeLessThan(idOf("a2"));
    expect(idOf("a2")).toBeLessThan(idOf("a3"));
    expect(idOf("b1")).toBeLessThan(idOf("b2"));
    await engine.close();
  });

  it("resumes what a previous process acknowledged when the next one starts, once each", async () => {
    const storage = createMemoryStorage();
    const first = await engineOn(storage);
    await first.intake.submitWebhook("generic", generic("left behind 1"));
    await first.intake.submitWebhook("generic", generic("left behind 2"));
    await first.intake.submitWebhook("generic", generic("left behind 1"));
    await first.close();

    const second = await engineOn(storage);
    await second.start();
    await waitFor(async () => (await second.intake.depth()).entries === 0);
    const tickets = await second.storage.tickets.find({ order: "asc" });
    expect(tickets.map((t) => [t.title, t.occurrences])).toEqual([
      ["left behind 1", 2],
      ["left behind 2", 1],
    ]);
    await second.close();
  });

  it("drops a delivery its connector cannot parse, with an event, and goes on with the next", async () => {
    const storage = createMemoryStorage();
    const engine = await engineOn(storage);
    const failed: string[] = [];
    engine.events.on("intake:failed", ({ source, code }) => failed.push(`${source}:${code}`));
    const broken = await engine.intake.submitWebhook("pager", pagerRequest("bad", { broken: true }));
    const good = await engine.intake.submitWebhook("pager", pagerRequest("good"));
    await engine.start();
    await expect(broken.processed).rejects.toThrow("unreadable alert");
    expect((await good.processed).tickets[0]!.ticket.title).toBe("good");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(/^pager:/);
    expect((await engine.intake.depth()).entries).toBe(0);
    await engine.close();
  });

  it("keeps a delivery whose connector the restarted engine lacks, instead of dropping it", async () => {
    const storage = createMemoryStorage();
    const first = await engineOn(storage);
    await first.intake.submitWebhook("pager", pagerRequest("kept for later"));
    await first.close();
    const kept: Storage = { ...storage, close: async () => {} };
    const without = await createEngine({ storage: kept, intake: { enabled: true } });
    const failed: string[] = [];
    without.events.on("intake:failed", ({ code }) => failed.push(code));
    await without.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(failed).toEqual([]);
    expect((await without.intake.depth()).sources).toEqual({
      pager: expect.objectContaining({ entries: 1 }),
    });
    await without.close();
    // With the connector back, it is stored.
    const back = await engineOn(storage);
    await back.start();
    await waitFor(async () => (await back.intake.depth()).entries === 0);
    expect((await back.storage.tickets.find())[0]?.title).toBe("kept for later");
    await back.close();
  });

  it("never stores a delivery's credential headers in the queue", async () => {
    const storage = createMemoryStorage();
    const engine = await engineOn(storage);
    await engine.intake.submitWebhook(
      "generic",
      generic("with secrets", {
        authorization: "Bearer tok-123",
        "x-runwarden-webhook-secret": "hush",
        "x-trace": "t1",
      }),
    );
    await engine.intake.submitWebhook("pager", pagerRequest("pager secret"));
    const payloads = (await storage.pendingIntake({ limit: 10 })).map((e) => e.payload).join("\n");
    expect(payloads).not.toContain("tok-123");
    expect(payloads).not.toContain("hush");
    expect(payloads).not.toContain("s3cret-value");
    expect(payloads).toContain("x-trace");
    await engine.close();
  });

  it("refuses invalid options with RW_ERR_CONFIG_INVALID", async () => {
    const refused = await codeOf(createEngine({ intake: { enabled: true, sourceShare: 2 } }));
    expect(refused.code).toBe("RW_ERR_CONFIG_INVALID");
  });
});

/** A gate an analyzer stage waits at for the titles it names, until opened. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  let reached!: () => void;
  const arrived = new Promise<void>((resolve) => {
    reached = resolve;
  });
  return { open, opened, arrived, reached };
}

/**
 * Two engine instances over one memory store that says it is shared (as PostgreSQL is), each with
 * an analyzer stage counting the tickets it analyzes by title. The first analysis of a title
 * starting with "hold" waits at `hold` (whichever instance runs it holds the queue's lease
 * meanwhile); `holding()` then says which instance that is.
 */
async function sharedPair(options: { leaseTtlMs?: number } = {}) {
  const storage = createMemoryStorage();
  const analyzed = new Map<string, number>();
  const hold = gate();
  type Id = "engine-a" | "engine-b";
  const wrappers: Record<Id, (storage: Storage) => Storage> = {
    "engine-a": (s) => s,
    "engine-b": (s) => s,
  };
  const make = async (id: Id) => {
    const base: Storage = { ...storage, shared: true, close: async () => {} };
    // Every call goes through the instance's wrapper, so a test can make one instance die.
    const instance = new Proxy(base, {
      get: (target, key) => Reflect.get(wrappers[id](target), key),
    });
    return createEngine({
      storage: instance,
      instanceId: id,
      policy: { leaseTtlMs: options.leaseTtlMs ?? 900 },
      connectors: [{ connector: pager, config: {} }],
      intake: { enabled: true },
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
  };
  const engines = { "engine-a": await make("engine-a"), "engine-b": await make("engine-b") };
  opened.push(engines["engine-a"], engines["engine-b"]);
  await engines["engine-a"].start();
  await engines["engine-b"].start();
  return {
    a: engines["engine-a"],
    b: engines["engine-b"],
    analyzed,
    hold,
    /** Once `hold` is reached: the instance holding the lease and the other one. */
    async holding() {
      await hold.arrived;
      const owner = (await storage.leases.get(intakeLeaseName))?.owner as Id;
      const otherId: Id = owner === "engine-a" ? "engine-b" : "engine-a";
      return { holder: engines[owner], other: engines[otherId], holderId: owner, otherId };
    },
    /** Replaces what one instance sees of the store from now on. */
    wrap(id: Id, change: (storage: Storage) => Storage) {
      wrappers[id] = change;
    },
  };
}

const opened: Engine[] = [];
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((engine) => engine.close()));
});

describe("createEngine({ intake }) with a shared store", () => {
  it("works the queue on one instance at a time and answers processed submitters on the other", async () => {
    const pair = await sharedPair();
    const { a, b, analyzed, hold } = pair;
    const processedOn = new Map<Engine, number>([
      [a, 0],
      [b, 0],
    ]);
    for (const engine of [a, b])
      engine.events.on("intake:processed", () => processedOn.set(engine, processedOn.get(engine)! + 1));
    // The instance that stores the first delivery holds the lease while that one is analyzed.
    const first = await a.intake.submitWebhook("generic", generic("hold first"));
    const { holder, other } = await pair.holding();
    const receipts = [];
    for (let i = 0; i < 20; i++) {
      const engine = i % 2 === 0 ? b : a;
      receipts.push({
        title: `burst ${i}`,
        receipt: await engine.intake.submitWebhook("generic", generic(`burst ${i}`)),
      });
    }
    hold.open();
    expect((await first.processed).tickets[0]!.ticket.title).toBe("hold first");
    for (const { title, receipt } of receipts) {
      const result = await receipt.processed;
      expect(result.tickets.map((t) => [t.ticket.title, t.deduplicated])).toEqual([[title, false]]);
      expect(result.tickets[0]!.ticket.id).toBeGreaterThan(0);
    }
    // The other instance's submitters were answered with what the holder stored.
    expect(processedOn.get(holder)).toBe(21);
    expect(processedOn.get(other)).toBe(0);
    expect(await a.storage.tickets.count()).toBe(21);
    expect(analyzed.size).toBe(21);
    expect([...analyzed.values()].every((n) => n === 1)).toBe(true);
    // Idle: the lease is given up.
    await waitFor(async () => (await a.storage.leases.get(intakeLeaseName)) === undefined);
  });

  it("takes the queue over from a holder that stopped renewing, storing each delivery once", async () => {
    const pair = await sharedPair({ leaseTtlMs: 600 });
    const { analyzed, hold } = pair;
    await pair.a.intake.submitWebhook("generic", generic("hold in hand"));
    const { other, holderId } = await pair.holding();
    const waiting = [];
    for (let i = 0; i < 5; i++)
      waiting.push(await other.intake.submitWebhook("generic", generic(`after ${i}`)));
    // The holder dies: its store calls fail from now on (no renewal, no write, no release).
    const gone = () => Promise.reject(rwError("RW_ERR_STORAGE_UNAVAILABLE", "the instance is gone"));
    pair.wrap(holderId, (storage) => ({
      ...storage,
      leases: { acquire: gone, release: gone, get: gone },
      ingestTickets: gone,
      pendingIntake: gone,
      completeIntake: gone,
    }));
    // The other takes over once the lease ran out: the entry the holder had in hand too.
    for (const receipt of waiting) expect((await receipt.processed).tickets).toHaveLength(1);
    await waitFor(async () => (await other.storage.tickets.count()) === 6);
    expect((await other.storage.leases.get(intakeLeaseName))?.owner).not.toBe(holderId);
    hold.open();
    await waitFor(async () => (await other.intake.depth()).entries === 0);
    const titles = (await other.storage.tickets.find()).map((t) => t.title).sort();
    expect(titles).toEqual(["after 0", "after 1", "after 2", "after 3", "after 4", "hold in hand"]);
    // The dead holder analyzed its entry in hand; the other analyzed it again. Nothing else twice.
    expect(analyzed.get("hold in hand")).toBe(2);
    for (let i = 0; i < 5; i++) expect(analyzed.get(`after ${i}`)).toBe(1);
  });

  it("sends a large outcome to the waiting instance in parts", async () => {
    const pair = await sharedPair();
    await pair.a.intake.submitWebhook("generic", generic("hold the lease"));
    const { other } = await pair.holding();
    // 300 tickets, each with an ignored field: 300 warnings, far past one signal's size.
    const items = Array.from({ length: 300 }, (_, i) => ({
      title: `bulk ${i}`,
      description: "many at once",
      severity: "low",
      environment: "dev",
      service: "ci",
      [`champ_inattendu_${"é".repeat(30)}`]: "ignoré",
    }));
    const receipt = await other.intake.submitWebhook("generic", {
      headers: { "content-type": "application/json" },
      body: items,
      rawBody: JSON.stringify(items),
    });
    pair.hold.open();
    const result = await receipt.processed;
    expect(result.tickets.map((t) => t.ticket.title)).toEqual(items.map((item) => item.title));
    expect(result.warnings).toHaveLength(300);
    expect(result.warnings[299]).toContain("champ_inattendu_é");
  });

  it("rejects a processed submitter with the parsing error of the instance that refused the delivery", async () => {
    const pair = await sharedPair();
    await pair.a.intake.submitWebhook("generic", generic("hold the lease"));
    const { other } = await pair.holding();
    const broken = await other.intake.submitWebhook("pager", pagerRequest("bad", { broken: true }));
    pair.hold.open();
    await expect(broken.processed).rejects.toThrow("unreadable alert");
  });

  it("answers a processed submitter with no tickets and a warning when the outcome signal is lost", async () => {
    const pair = await sharedPair({ leaseTtlMs: 600 });
    await pair.a.intake.submitWebhook("generic", generic("hold the lease"));
    const { other, holderId } = await pair.holding();
    pair.wrap(holderId, (storage) => ({
      ...storage,
      signals: {
        subscribe: storage.signals.subscribe,
        publish: (topic, payload) =>
          topic === "runwarden.intake.stored" ? Promise.resolve() : storage.signals.publish(topic, payload),
      },
    }));
    const receipt = await other.intake.submitWebhook("generic", generic("outcome lost"));
    pair.hold.open();
    const result = await receipt.processed;
    expect(result.tickets).toEqual([]);
    expect(result.warnings[0]).toMatch(/another engine instance/);
    expect((await other.storage.tickets.find()).map((t) => t.title)).toContain("outcome lost");
  });
});

async function waitFor(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}
