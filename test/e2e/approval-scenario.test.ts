/**
 * The connector guide's approval scenario, end to end on SQLite: a ticket matching "Fix Database
 * Connection" comes in, the session stops at the precheck's approval, then at the high_risk main
 * step (which its starter may not approve), the postcheck runs, the ticket is resolved, and the
 * audit log shows all of it.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Actor, createEngine, type Engine, localConnector } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { afterEach, describe, expect, it } from "vitest";

const examples = resolve(import.meta.dirname, "../../examples/runbooks");
const alice: Actor = { id: "alice", roles: ["operator", "approver"] };
const bob: Actor = { id: "bob", roles: ["approver"] };

let engine: Engine | undefined;
let dir: string;
afterEach(async () => {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("approval scenario (connector guide)", () => {
  it("runs Fix Database Connection through both approvals to a resolved ticket", async () => {
    dir = mkdtempSync(join(tmpdir(), "rw-e2e-"));
    engine = await createEngine({
      storage: createSqliteStorage({ path: join(dir, "runwarden.db") }),
      vault: { key: Buffer.alloc(32, 1) },
      connectors: [{ connector: localConnector, config: { path: [join(examples, "scripts")] } }],
    });
    await engine.start();
    const markdown = readFileSync(join(examples, "fix-database-connection.md"), "utf8");
    const { runbook } = await engine.runbooks.create(markdown, {
      actor: { id: "sre-lead", roles: ["admin"] },
      status: "approved",
    });

    // The runbook is approved and matches well enough to run on its own; here an operator starts
    // it, as in the guide, so ingestion does not.
    const { ticket } = await engine.tickets.ingest(
      {
        title: "Database connection timeout",
        description: "Unable to connect to PostgreSQL: fix database connection",
        severity: "high",
        environment: "prod",
        service: "database",
        source: "prometheus",
      },
      { autoExecute: false },
    );
    const candidate = ticket.analysis?.candidates[0];
    expect(candidate?.title).toBe("Fix Database Connection");
    expect(ticket.analysis?.decision.action).toBe("auto_execute");

    const { session } = await engine.executions.start(ticket.id, candidate!.runbookId, { actor: alice });
    expect(session.runbookId).toBe(runbook.id);
    expect((await engine.executions.settled(session.id)).status).toBe("awaiting_approval");
    const [precheck] = (await engine.approvals.list({ status: "pending" })).items;
    expect(precheck).toMatchObject({
      stepName: "check_db_status.sh",
      renderedCommand: "check_db_status.sh",
      risk: "low_risk",
      target: "local (local)",
    });
    await engine.approvals.approve(precheck!.id, { actor: alice, comment: "checking is fine" });

    expect((await engine.executions.settled(session.id)).status).toBe("awaiting_approval");
    const [main] = (await engine.approvals.list({ status: "pending" })).items;
    expect(main).toMatchObject({ stepName: "restart_db_service.sh", risk: "high_risk" });
    await expect(engine.approvals.approve(main!.id, { actor: alice })).rejects.toMatchObject({
      code: "RW_ERR_APPROVAL_SAME_ACTOR",
    });
    await engine.approvals.approve(main!.id, { actor: bob, comment: "restart approved" });

    const done = await engine.executions.settled(session.id);
    expect(done.status).toBe("succeeded");
    const detail = await engine.executions.get(session.id);
    expect(detail.steps.map((s) => [s.phase, s.name, s.status, s.exitCode])).toEqual([
      ["prechecks", "check_db_status.sh", "succeeded", 0],
      ["main", "restart_db_service.sh", "succeeded", 0],
      ["postchecks", "verify_db_connection.sh", "succeeded", 0],
    ]);
    expect(detail.steps[0]?.stdout).toContain("[check_db_status]");
    expect((await engine.tickets.get(ticket.id)).status).toBe("resolved");

    const audit = (await engine.audit.list({ order: "asc", limit: 1000 })).items
      .filter((e) => e.objectType === "session" || e.objectType === "approval")
      .map((e) => [e.actor, e.action]);
    expect(audit).toEqual([
      ["alice", "session.started"],
      ["engine", "approval.requested"],
      ["alice", "approval.approved"],
      ["engine", "approval.requested"],
      ["bob", "approval.approved"],
      ["engine", "session.finished"],
    ]);
    expect((await engine.audit.list({ objectType: "runbook" })).items.length).toBeGreaterThan(0);
    expect(detail.timeline.map((t) => t.kind)).toEqual(
      expect.arrayContaining([
        "approval.requested",
        "approval.approved",
        "step.succeeded",
        "session.succeeded",
      ]),
    );
  });
});
