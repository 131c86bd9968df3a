/**
 * What a process killed around an approval decision leaves behind, and how the next process on
 * the same store carries on: a decision stored but never applied to its session is applied at
 * start, and a paused session whose lease the dead process still held is claimable at once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createSqliteStorage } from "../../../storage-sqlite/src/index.js";
import { type Approval, createEngine, type Engine } from "../../src/index.js";
import { alice, bob, testKey } from "./helpers.js";

const gated = `# Gated\n\n## Main Steps\n- \`echo one\` (name: one, requires_approval: true)\n- \`echo two\` (name: two)\n`;

let dir: string;
const engines: Engine[] = [];
afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

async function engineOn(path: string): Promise<Engine> {
  const engine = await createEngine({
    storage: createSqliteStorage({ path }),
    vault: { key: testKey },
    policy: { retryBackoffMs: 10, closeGraceMs: 200 },
  });
  engines.push(engine);
  return engine;
}

/** A session paused on its approval, on a SQLite file; the engine that paused it is closed. */
async function paused(): Promise<{ path: string; sessionId: number; approval: Approval }> {
  dir = mkdtempSync(join(tmpdir(), "rw-decisions-"));
  const path = join(dir, "runwarden.db");
  const engine = await engineOn(path);
  await engine.start();
  const { runbook } = await engine.runbooks.create(gated, {
    actor: { id: "author", roles: ["admin"] },
    status: "approved",
  });
  const { ticket } = await engine.tickets.ingest(
    { title: "Disk full on db-01", environment: "prod", service: "db", source: "test" },
    { autoExecute: false },
  );
  const { session } = await engine.executions.start(ticket.id, runbook.id, { actor: alice });
  expect((await engine.executions.settled(session.id)).status).toBe("awaiting_approval");
  const [approval] = (await engine.approvals.list({ status: "pending" })).items;
  await engines.pop()!.close();
  return { path, sessionId: session.id, approval: approval! };
}

describe("approval decisions across a crash", () => {
  it("resumes at start a session whose approval was approved by a process that died before resuming it", async () => {
    const { path, sessionId, approval } = await paused();
    // What decide() stores before it resumes the session: the approval approved, nothing else.
    const store = createSqliteStorage({ path });
    await store.approvals.update(approval.id, approval.version, {
      status: "approved",
      decisions: [{ actor: bob.id, decision: "approve", comment: "", at: new Date().toISOString() }],
      decidedAt: new Date().toISOString(),
    });
    await store.close();

    const engine = await engineOn(path);
    await engine.start();
    const done = await engine.executions.settled(sessionId, { timeoutMs: 10_000 });
    expect(done.status).toBe("succeeded");
    expect((await engine.approvals.get(approval.id)).status).toBe("approved");
    expect(await engine.approvals.list({ status: "pending" })).toMatchObject({ items: [] });
  });

  it("stops at start a session whose approval was rejected by a process that died before stopping it", async () => {
    const { path, sessionId, approval } = await paused();
    const store = createSqliteStorage({ path });
    await store.approvals.update(approval.id, approval.version, {
      status: "rejected",
      decisions: [{ actor: bob.id, decision: "reject", comment: "not now", at: new Date().toISOString() }],
      decidedAt: new Date().toISOString(),
    });
    await store.close();

    const engine = await engineOn(path);
    await engine.start();
    const { session } = await engine.executions.get(sessionId);
    expect(session.status).toBe("rejected");
    expect(session.error).toBe('step "one" rejected by bob: not now');
  });

  it("drives a paused session right after its approval though a dead process still held its lease", async () => {
    const { path, sessionId, approval } = await paused();
    // A process killed between pausing the session and releasing its lease.
    const store = createSqliteStorage({ path });
    const held = await store.claimSessions({
      owner: "dead-instance",
      ttlMs: 60_000,
      now: new Date().toISOString(),
      statuses: ["awaiting_approval"],
      limit: 10,
    });
    expect(held.map((s) => s.id)).toEqual([sessionId]);
    await store.close();

    const engine = await engineOn(path);
    await engine.start();
    await engine.approvals.approve(approval.id, { actor: bob });
    // Well within the dead lease's 60 s: the session is not waiting for it to run out.
    const done = await engine.executions.settled(sessionId, { timeoutMs: 15_000 });
    expect(done.status).toBe("succeeded");
  });
});
