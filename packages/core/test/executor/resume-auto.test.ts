/**
 * A process that dies between storing an auto-executed ticket and starting its session leaves the
 * ticket `analyzed`, marked `autoExecuteRequested`, with no session: `engine.start()` starts it.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createEngine,
  createMemoryStorage,
  type Engine,
  type Storage,
  type Ticket,
} from "../../src/index.js";
import { admin, testKey } from "./helpers.js";

const runbook = `---
id: clean-disk
match:
  keywords: [disk full]
---
# Clean disk

## Main Steps
- \`true\` (name: clean)
`;

const disk = {
  title: "Disk full on web-1",
  description: "No space left on device",
  severity: "high",
  environment: "prod",
  service: "web",
  source: "test",
} as const;

const engines: Engine[] = [];
afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close();
});

async function engineOn(storage: Storage, graceMs: number): Promise<Engine> {
  const engine = await createEngine({
    storage,
    vault: { key: testKey },
    policy: { autoExecuteResumeGraceMs: graceMs, closeGraceMs: 200 },
  });
  engines.push(engine);
  return engine;
}

/** What a crash right after the ticket's commit leaves: the intent stored, no session. */
async function leftUndone(engine: Engine, storage: Storage, requested = true): Promise<Ticket> {
  await engine.runbooks.create(runbook, { actor: admin, status: "approved" });
  const { ticket } = await engine.tickets.ingest(disk, { autoExecute: false });
  expect(ticket.analysis?.decision.action).toBe("auto_execute");
  return storage.tickets.update(ticket.id, ticket.version, {
    analysis: { ...ticket.analysis!, autoExecuteRequested: requested },
  });
}

describe("resuming auto-executions on start", () => {
  it("marks the stored analysis when the caller asks for auto-execution, and not otherwise", async () => {
    const storage = createMemoryStorage();
    const engine = await engineOn(storage, 0);
    await engine.runbooks.create(runbook, { actor: admin, status: "approved" });
    const manual = await engine.tickets.ingest(disk, { autoExecute: false });
    expect(manual.ticket.analysis?.autoExecuteRequested).toBeUndefined();
    const auto = await engine.tickets.ingest({ ...disk, title: "Disk full on web-2" });
    expect(auto.ticket.analysis?.autoExecuteRequested).toBe(true);
  });

  it("starts the session of an auto-executed ticket a stopped process left without one", async () => {
    const storage = createMemoryStorage();
    const engine = await engineOn(storage, 0);
    const ticket = await leftUndone(engine, storage);
    await engine.start();
    const { items } = await engine.executions.list({ ticketId: ticket.id });
    expect(items).toHaveLength(1);
    expect((await engine.executions.settled(items[0]!.id)).status).toBe("succeeded");
  });

  it("leaves alone a ticket whose caller did not ask for auto-execution", async () => {
    const storage = createMemoryStorage();
    const engine = await engineOn(storage, 0);
    const ticket = await leftUndone(engine, storage, false);
    await engine.start();
    expect((await engine.executions.list({ ticketId: ticket.id })).items).toHaveLength(0);
  });

  it("waits out the grace period for a ticket stored moments ago, then starts it", async () => {
    const storage = createMemoryStorage();
    const engine = await engineOn(storage, 300);
    const ticket = await leftUndone(engine, storage);
    await engine.start();
    expect((await engine.executions.list({ ticketId: ticket.id })).items).toHaveLength(0);
    await vi.waitFor(
      async () => expect((await engine.executions.list({ ticketId: ticket.id })).items).toHaveLength(1),
      { timeout: 3_000, interval: 50 },
    );
  });

  it("starts it once when two engines start on the same store together", async () => {
    const storage = createMemoryStorage();
    const first = await engineOn(storage, 0);
    const second = await engineOn(storage, 0);
    const ticket = await leftUndone(first, storage);
    await Promise.all([first.start(), second.start()]);
    const { items } = await first.executions.list({ ticketId: ticket.id });
    expect(items).toHaveLength(1);
    expect((await first.executions.settled(items[0]!.id)).status).toBe("succeeded");
  });

  it("does not start a ticket again once its session ran", async () => {
    const storage = createMemoryStorage();
    const engine = await engineOn(storage, 0);
    await engine.runbooks.create(runbook, { actor: admin, status: "approved" });
    await engine.start();
    const { ticket } = await engine.tickets.ingest(disk);
    const [session] = (await engine.executions.list({ ticketId: ticket.id })).items;
    expect((await engine.executions.settled(session!.id)).status).toBe("succeeded");
    const again = await engineOn(storage, 0);
    await again.start();
    expect((await again.executions.list({ ticketId: ticket.id })).items).toHaveLength(1);
  });
});
