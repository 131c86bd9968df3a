import { afterEach, describe, expect, it } from "vitest";
import { type Harness, setup } from "../helpers.js";

const secret = "generic-secret-0123456789";
const ticket = (title: string) => ({ title, description: "disk full", severity: "high", service: "ci" });

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function post(harness: Harness, title: string) {
  return harness.json("POST", "/tickets/webhook/generic", {
    token: null,
    json: ticket(title),
    headers: { "x-runwarden-webhook-secret": secret },
  });
}

describe("POST /tickets/webhook/{source} with the intake queue", () => {
  it("answers with the stored tickets as before when acknowledging once processed", async () => {
    h = await setup({
      engine: { intake: { enabled: true } },
      adapter: { webhooks: { generic: { secret } } },
    });
    const r = await post(h, "queued and processed");
    expect(r.status).toBe(202);
    expect(r.body.tickets).toHaveLength(1);
    expect(r.body.queued).toBeUndefined();
    expect((await h.engine.tickets.get(r.body.tickets[0].id)).submittedBy).toBe("webhook:generic");
  });

  it("answers 202 with the queued entry once durable, and stores the ticket right after", async () => {
    h = await setup({
      engine: { intake: { enabled: true, acknowledge: "durable" } },
      adapter: { webhooks: { generic: { secret } } },
    });
    const r = await post(h, "queued durable");
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ tickets: [], resolved: [], queued: { entries: 1, source_entries: 1 } });
    expect(r.body.queued.entry_id).toBeTypeOf("number");
    const until = Date.now() + 5_000;
    while ((await h.engine.storage.tickets.count()) === 0 && Date.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await h.engine.storage.tickets.find())[0]?.title).toBe("queued durable");
  });

  it("answers 429 with Retry-After and a JSON reason when the source holds its share", async () => {
    h = await setup({
      engine: {
        intake: {
          enabled: true,
          acknowledge: "durable",
          maxEntries: 2,
          sourceShare: 0.5,
          retryAfterSeconds: 7,
        },
      },
      adapter: { webhooks: { generic: { secret } } },
    });
    // Stopped: nothing is stored, so the first delivery keeps the source's one place.
    await h.engine.intake.close();
    expect((await post(h, "first")).status).toBe(202);
    const refused = await post(h, "second");
    expect(refused.status).toBe(429);
    expect(refused.res.headers.get("retry-after")).toBe("7");
    expect(refused.body.error).toMatchObject({
      code: "RW_ERR_INTAKE_SOURCE_FULL",
      details: { source: "generic", retry_after_seconds: 7 },
    });
  });

  it("shows the queue's depth in GET /health and GET /metrics", async () => {
    h = await setup({
      engine: { intake: { enabled: true, acknowledge: "durable", maxEntries: 50 } },
      adapter: { webhooks: { generic: { secret } } },
    });
    await h.engine.intake.close();
    await post(h, "waiting");
    const health = await h.json("GET", "/health", { token: null });
    expect(health.body.intake_queue).toMatchObject({ entries: 1, max_entries: 50 });
    expect(health.body.intake_queue.bytes).toBeGreaterThan(0);
    const metrics = await (await h.call("GET", "/metrics")).text();
    expect(metrics).toContain('runwarden_intake_queue_entries{source="generic"} 1');
  });

  it("leaves the health answer as it was when the queue is off", async () => {
    h = await setup();
    const health = await h.json("GET", "/health", { token: null });
    expect(health.body.intake_queue).toBeUndefined();
  });

  it("imports an uploaded CSV through the queue with the same report: bad rows by row and line, good rows stored", async () => {
    h = await setup({ engine: { intake: { enabled: true } } });
    const csv = "title,severity\nDisk full,high\n,low\nCPU hot,extreme\nDisk full,high\n";
    const r = await h.json("POST", "/tickets/upload-csv?auto_execute=false", {
      body: csv,
      headers: { "content-type": "text/csv" },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ rows: 4, imported: 1, deduplicated: 1, rejected: 2 });
    const byRow = new Map(r.body.results.map((x: { row: number }) => [x.row, x]));
    expect(byRow.get(2)).toMatchObject({ status: "rejected", line: 3, ticket_id: null });
    expect(byRow.get(3)).toMatchObject({ status: "rejected", line: 4, ticket_id: null });
    expect(byRow.get(4)).toMatchObject({ status: "folded" });
    // Its chunks were consumed by the writes that stored them.
    expect((await h.engine.intake.depth()).entries).toBe(0);
  });
});
