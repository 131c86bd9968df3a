/**
 * Work notes to monitoring tools: a connector with `note` gets one, through the poller's outbox,
 * for each approval requested and decided and for the session's outcome, in order after the
 * acknowledge and before the resolve, with the session id in the call options.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { createEngine, type Engine } from "../../src/engine.js";
import { defineConnector, type MonitoringCallOptions, type MonitoringConnector } from "../../src/plugin.js";

interface Call {
  op: "acknowledge" | "resolve" | "note";
  ticketId: number;
  sessionId: number | undefined;
  idempotencyKey: string | undefined;
  text?: string;
}

function recorder(options: { withNote: boolean; failFirstNote?: boolean }) {
  const calls: Call[] = [];
  let failures = options.failFirstNote ? 1 : 0;
  const record = (op: Call["op"], ticketId: number, o: MonitoringCallOptions, text?: string) =>
    calls.push({
      op,
      ticketId,
      sessionId: o.sessionId,
      idempotencyKey: o.idempotencyKey,
      ...(text === undefined ? {} : { text }),
    });
  const connector = defineConnector({
    kind: "monitoring",
    name: "recorder",
    version: "1.0.0",
    sdk: "^0.1.0",
    configSchema: z.object({}),
    capabilities: options.withNote ? ["acknowledge", "resolve", "note"] : ["acknowledge", "resolve"],
    create: (): MonitoringConnector => ({
      acknowledge: async (ticket, o) => void record("acknowledge", ticket.id, o),
      resolve: async (ticket, o) => void record("resolve", ticket.id, o),
      ...(options.withNote
        ? {
            note: async (ticket, text, o) => {
              if (failures > 0) {
                failures--;
                throw new Error("monitoring tool unavailable");
              }
              record("note", ticket.id, o, text);
            },
          }
        : {}),
    }),
  });
  return { connector, calls };
}

const author = { id: "author", roles: ["admin" as const] };
const approver = { id: "approver", roles: ["approver" as const] };
let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

async function until<T>(
  read: () => Promise<T> | T,
  ok: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached: ${JSON.stringify(value).slice(0, 400)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function runApprovedSession(connector: ReturnType<typeof recorder>["connector"]) {
  engine = await createEngine({
    connectors: [connector],
    monitoring: { recorder: { enabled: false, idleMs: 20, baseDelayMs: 10, maxDelayMs: 20 } },
  });
  await engine.runbooks.create(
    "# Clean disk\n\n## Main Steps\n- `echo cleaning` (name: clean, requires_approval: true)\n",
    { actor: author, status: "approved" },
  );
  await engine.start();
  const { ticket } = await engine.tickets.ingest(
    { title: "Disk full on db-01", source: "recorder" },
    { autoExecute: false },
  );
  const [runbook] = (await engine.runbooks.list()).items;
  const { session } = await engine.executions.start(ticket.id, runbook!.id, { actor: author });
  expect((await engine.executions.settled(session.id)).status).toBe("awaiting_approval");
  const [approval] = (await engine.approvals.list({ status: "pending" })).items;
  await engine.approvals.approve(approval!.id, { actor: approver, comment: "go" });
  expect((await engine.executions.settled(session.id)).status).toBe("succeeded");
  return { ticket, sessionId: session.id, approvalId: approval!.id };
}

describe("monitoring work notes", () => {
  it("notes the approval requested and decided and the outcome, in order, with the session id", async () => {
    const { connector, calls } = recorder({ withNote: true, failFirstNote: true });
    const { ticket, sessionId, approvalId } = await runApprovedSession(connector);
    await until(
      () => calls.map((c) => c.op),
      (ops) => ops.includes("resolve"),
    );
    expect(calls.map((c) => c.op)).toEqual(["acknowledge", "note", "note", "note", "resolve"]);
    for (const call of calls) expect(call).toMatchObject({ ticketId: ticket.id, sessionId });
    const notes = calls.filter((c) => c.op === "note").map((c) => c.text);
    expect(notes[0]).toContain(`approval ${approvalId} requested`);
    expect(notes[0]).toContain('step "clean"');
    expect(notes[1]).toBe(`Runwarden session ${sessionId}: approval ${approvalId} approved by approver.`);
    expect(notes[2]).toBe(`Runwarden session ${sessionId} succeeded.`);
    // Each note once (the first attempt failed and was retried), each with its own key.
    expect(new Set(calls.map((c) => c.idempotencyKey)).size).toBe(calls.length);
    const rows = await engine!.storage.outbox.find({ where: { target: "monitoring:recorder" } });
    expect(rows.filter((r) => r.kind === "note").map((r) => r.status)).toEqual([
      "delivered",
      "delivered",
      "delivered",
    ]);
  });

  it("sends no notes to a connector without the note capability", async () => {
    const { connector, calls } = recorder({ withNote: false });
    await runApprovedSession(connector);
    await until(
      () => calls.map((c) => c.op),
      (ops) => ops.includes("resolve"),
    );
    expect(calls.map((c) => c.op)).toEqual(["acknowledge", "resolve"]);
    const rows = await engine!.storage.outbox.find({ where: { target: "monitoring:recorder" } });
    expect(rows.map((r) => r.kind)).toEqual(["acknowledge", "resolve"]);
  });
});
