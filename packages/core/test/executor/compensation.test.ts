import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryStorage, type EngineOptions, type StepRecord } from "../../src/index.js";
import { alice, bob, type Harness, harness } from "./helpers.js";

/** Per-step compensation: a step's `compensate` command undoes it when the session rolls back. */

let h: Harness;
afterEach(async () => {
  await h?.close();
  h = undefined as never;
});

/** Runs a runbook to its end (on the test's harness, made when there is none yet). */
async function run(
  markdown: string,
  ticketFields: Record<string, unknown> = {},
  options: EngineOptions = {},
) {
  h ??= await harness(options);
  const ticket = await h.ticket(ticketFields);
  const runbookId = await h.runbook(markdown);
  const started = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
  await h.engine.executions.settled(started.session.id);
  const detail = await h.engine.executions.get(started.session.id);
  const byName = Object.fromEntries(detail.steps.map((s) => [s.name, s]));
  return { ...detail, byName, started };
}

/** The lines the steps appended to `log` in the harness's temp dir, in the order they ran. */
function ran(): string[] {
  const path = join(h.dir, "log");
  return existsSync(path) ? readFileSync(path, "utf8").trim().split("\n") : [];
}

const log = (word: string) => `echo ${word} >> log`;

describe("compensation", () => {
  it("compensates the succeeded steps of the failed phase in reverse order, then runs the rollback steps", async () => {
    h = await harness();
    const markdown = `# Comp

## Main Steps
- \`cd ${h.dir} && ${log("a")}\` (name: a, compensate: "cd ${h.dir} && ${log("undo-a")}")
- \`cd ${h.dir} && ${log("b")}\` (name: b)
- \`false\` (name: flaky, on_failure: continue, compensate: "cd ${h.dir} && ${log("undo-flaky")}")
- \`cd ${h.dir} && ${log("c")}\` (name: c, compensate: "cd ${h.dir} && ${log("undo-c")}")
- \`exit 3\` (name: broken, compensate: "cd ${h.dir} && ${log("undo-broken")}")
- \`cd ${h.dir} && ${log("d")}\` (name: d, compensate: "cd ${h.dir} && ${log("undo-d")}")

## Rollback
- \`cd ${h.dir} && ${log("rollback")}\` (name: rollback)
`;
    const { session, steps, byName } = await run(markdown);
    expect(session.status).toBe("rolled_back");
    expect(session.error).toMatch(/^step "broken" failed: exit code 3/);
    expect(ran()).toEqual(["a", "b", "c", "undo-c", "undo-a", "rollback"]);
    // Planned up front, in reverse order ahead of the declared rollback steps.
    expect(steps.filter((s) => s.phase === "rollback").map((s) => [s.name, s.status])).toEqual([
      ["compensation of d", "skipped"],
      ["compensation of broken", "skipped"],
      ["compensation of c", "succeeded"],
      ["compensation of flaky", "skipped"],
      ["compensation of a", "succeeded"],
      ["rollback", "succeeded"],
    ]);
    expect(byName.d?.status).toBe("skipped");
    expect(byName["compensation of c"]).toMatchObject({
      phase: "rollback",
      command: `cd ${h.dir} && ${log("undo-c")}`,
      connection: "local",
      severity: "low_risk",
      requiresApproval: false,
      idempotent: false,
    });
    const finished = byName["compensation of a"]!.finishedAt!;
    expect(Date.parse(finished)).toBeLessThanOrEqual(Date.parse(byName.rollback!.startedAt!));
  });

  it("rolls back through compensations when the runbook has no rollback section", async () => {
    const { session, byName } = await run(
      '# NoRB\n\n## Main Steps\n- `echo on` (name: on, compensate: "echo off")\n- `false` (name: fail)\n',
    );
    expect(session.status).toBe("rolled_back");
    expect(byName["compensation of on"]).toMatchObject({ status: "succeeded", stdout: "off\n" });
    expect((await h.engine.tickets.get(session.ticketId)).statusReason).toContain("rolled back");
  });

  it("fails without rolling back when no step that declares a compensation succeeded", async () => {
    const { session, byName } = await run(
      '# First\n\n## Main Steps\n- `false` (name: fail, compensate: "echo undo")\n- `echo next` (name: next, compensate: "echo undo-next")\n',
    );
    expect(session).toMatchObject({ status: "failed", error: expect.stringMatching(/^step "fail" failed/) });
    expect(byName["compensation of fail"]?.status).toBe("skipped");
    expect(byName["compensation of next"]?.status).toBe("skipped");
  });

  it("compensates nothing when the session succeeds or a precheck fails", async () => {
    const ok = await run('# Ok\n\n## Main Steps\n- `echo on` (name: on, compensate: "echo off")\n');
    expect(ok.session.status).toBe("succeeded");
    expect(ok.byName["compensation of on"]).toMatchObject({ status: "skipped", attempts: 0 });
    const pre = await run(
      '# Pre\n\n## Prechecks\n- `false` (name: check)\n\n## Main Steps\n- `echo on` (name: on, compensate: "echo off")\n',
    );
    expect(pre.session.status).toBe("failed");
    expect(pre.byName["compensation of on"]).toMatchObject({ status: "skipped", attempts: 0 });
  });

  it("compensates the postchecks of a failed postcheck, not the main steps", async () => {
    const { session, byName } = await run(
      '# Post\n\n## Main Steps\n- `echo on` (name: on, compensate: "echo off")\n\n## Postchecks\n- `echo mark` (name: mark, compensate: "echo unmark")\n- `false` (name: verify)\n',
    );
    expect(session.status).toBe("rolled_back");
    expect(byName["compensation of mark"]).toMatchObject({ status: "succeeded", stdout: "unmark\n" });
    expect(byName["compensation of on"]?.status).toBe("skipped");
  });

  it("fails the rollback when a compensation fails, like a rollback step, and runs nothing after it", async () => {
    const { session, byName } = await run(
      '# Bad\n\n## Main Steps\n- `echo a` (name: a, compensate: "echo a-first")\n- `echo b` (name: b, compensate: "exit 7")\n- `false` (name: fail)\n\n## Rollback\n- `echo never` (name: after)\n',
    );
    expect(session.status).toBe("failed");
    expect(session.error).toMatch(/^rollback rollback step "compensation of b" failed: exit code 7/);
    expect(byName["compensation of b"]?.status).toBe("failed");
    expect(byName["compensation of a"]?.status).toBe("skipped");
    expect(byName.after?.status).toBe("skipped");
  });

  it("asks for approval of a compensation as for its step, showing it as the compensation of that step", async () => {
    h = await harness();
    const ticket = await h.ticket({ service: "pg" });
    const runbookId = await h.runbook(
      '# Gate\n\n## Main Steps\n- `echo stop {{ticket.service}}` (name: stop, severity: high_risk, compensate: "echo start {{ticket.service}}")\n- `false` (name: fail)\n',
    );
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    const pending = async () => {
      expect((await h.engine.executions.settled(session.id)).status).toBe("awaiting_approval");
      const { items } = await h.engine.approvals.list({ status: "pending", sessionId: session.id });
      expect(items).toHaveLength(1);
      return items[0]!;
    };
    await h.engine.approvals.approve((await pending()).id, { actor: bob });
    const compensation = await pending();
    expect(compensation).toMatchObject({
      stepName: "compensation of stop",
      renderedCommand: "echo start 'pg'",
      risk: "high_risk",
      target: "local (local)",
    });
    // As for its step: high_risk needs someone other than the person who started the session.
    await expect(h.engine.approvals.approve(compensation.id, { actor: alice })).rejects.toMatchObject({
      code: "RW_ERR_APPROVAL_SAME_ACTOR",
    });
    await h.engine.approvals.approve(compensation.id, { actor: bob });
    expect((await h.engine.executions.settled(session.id)).status).toBe("rolled_back");
    const { steps } = await h.engine.executions.get(session.id);
    expect(steps.find((s) => s.name === "compensation of stop")).toMatchObject({
      status: "succeeded",
      stdout: "start pg\n",
    });
  });

  it("runs nothing a hostile ticket field puts into a compensate command", async () => {
    h = await harness();
    const canary = join(h.dir, "pwned");
    const runbookId = await h.runbook(
      '# Inject\n\n## Main Steps\n- `echo on` (name: on, compensate: "echo {{ticket.service}} {{ticket.title}}")\n- `false` (name: fail)\n',
    );
    const payloads = [
      `; touch ${canary}`,
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `' ; touch ${canary} ; '`,
      `" ; touch ${canary} ; "`,
      `| touch ${canary}`,
    ];
    for (const payload of payloads) {
      const ticket = await h.ticket({ service: payload, title: `t ${payload}` });
      const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
      expect((await h.engine.executions.settled(session.id)).status, payload).toBe("rolled_back");
      const { steps } = await h.engine.executions.get(session.id);
      const compensation = steps.find((s) => s.name === "compensation of on");
      expect(compensation?.stdout, payload).toBe(`${ticket.service} ${ticket.title}\n`);
    }
    expect(existsSync(canary)).toBe(false);
  });

  it("fails the session before anything runs when a compensation cannot be rendered", async () => {
    h = await harness();
    const canary = join(h.dir, "ran");
    const runbookId = await h.runbook(
      `# NL\n\n## Main Steps\n- \`touch ${canary}\` (name: first, compensate: "systemctl start {{ticket.service}}")\n`,
    );
    const ticket = await h.ticket({ service: "nginx\ntouch /tmp/x" });
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    expect(session.status).toBe("failed");
    expect(session.error).toMatch(
      /^rollback step "compensation of first": RW_ERR_EXEC_TEMPLATE: .*control character.*; nothing was run/,
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(canary)).toBe(false);
  });

  it("shows each compensation in a dry run's plan, on its step's connection", async () => {
    h = await harness();
    await h.engine.connections.create({ name: "db-host", connectionType: "local", environment: "prod" });
    const ticket = await h.ticket({ service: "pg" });
    const runbookId = await h.runbook(
      '# Dry\n\n## Main Steps\n- `echo stop {{ticket.service}}` (name: stop, connection: db-host, severity: medium_risk, requires_approval: true, timeout: 5s, compensate: "echo start {{ticket.service}}")\n- `echo other` (name: other)\n\n## Rollback\n- `echo rb` (name: rb)\n',
    );
    const { plan, steps } = await h.engine.executions.start(ticket.id, runbookId, {
      actor: alice,
      dryRun: true,
    });
    expect(
      plan?.map((p) => [p.index, p.phase, p.name, p.rendered, p.connection?.name, p.compensates]),
    ).toEqual([
      [0, "main", "stop", "echo stop 'pg'", "db-host", undefined],
      [1, "main", "other", "echo other", "local", undefined],
      [2, "rollback", "compensation of stop", "echo start 'pg'", "db-host", { index: 0, name: "stop" }],
      [3, "rollback", "rb", "echo rb", "local", undefined],
    ]);
    expect(plan?.[2]).toMatchObject({
      requiresApproval: true,
      approvalsRequired: 1,
      severity: "medium_risk",
      timeoutMs: 5000,
      retries: 0,
      idempotent: false,
    });
    expect(steps.every((s) => s.status === "skipped")).toBe(true);
  });

  it("waits for a person when the engine died during a compensation, then finishes the rollback", async () => {
    const storage = createMemoryStorage();
    h = await harness({ storage });
    const ticket = await h.ticket();
    const runbookId = await h.runbook(
      '# Crash\n\n## Main Steps\n- `echo on` (name: on, compensate: "echo off")\n- `false` (name: fail)\n\n## Rollback\n- `echo rb` (name: rb)\n',
    );
    // The plan of a dry run is the plan of the session a dead engine left mid-compensation.
    const { plan } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice, dryRun: true });
    const record = await h.engine.runbooks.get(runbookId);
    const now = new Date().toISOString();
    const status: Record<string, StepRecord["status"]> = {
      on: "succeeded",
      fail: "failed",
      "compensation of on": "running",
      rb: "pending",
    };
    const { session } = await storage.createSession(
      {
        ticketId: ticket.id,
        runbookId,
        runbookKey: record.key,
        runbookRevision: record.revision,
        status: "running",
        phase: "rollback",
        dryRun: false,
        startedBy: "alice",
        fingerprint: ticket.fingerprint,
        createdAt: now,
        updatedAt: now,
        finishedAt: null,
        error: 'step "fail" failed: exit code 1, expected 0',
        lease: { owner: "dead-engine", expiresAt: new Date(Date.now() - 1000).toISOString() },
      },
      plan!.map((p) => ({
        index: p.index,
        phase: p.phase,
        name: p.name,
        command: p.command,
        rendered: p.rendered,
        language: p.language,
        connection: "local",
        requiresApproval: p.requiresApproval,
        severity: p.severity,
        idempotent: p.idempotent,
        status: status[p.name]!,
        attempts: status[p.name] === "pending" ? 0 : 1,
        exitCode: null,
        stdout: "",
        stderr: "",
        startedAt: null,
        finishedAt: null,
        error: null,
      })),
    );
    await h.engine.start();
    expect((await h.engine.executions.settled(session.id)).status).toBe("interrupted");
    const stuck = await h.engine.executions.get(session.id);
    expect(stuck.steps.map((s) => [s.name, s.status])).toEqual([
      ["on", "succeeded"],
      ["fail", "failed"],
      ["compensation of on", "interrupted"],
      ["rb", "pending"],
    ]);
    await h.engine.executions.resolveInterrupted(session.id, stuck.steps[2]!.id, "retry", { actor: bob });
    expect((await h.engine.executions.settled(session.id)).status).toBe("rolled_back");
    const after = await h.engine.executions.get(session.id);
    expect(after.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
      ["on", "succeeded", 1],
      ["fail", "failed", 1],
      ["compensation of on", "succeeded", 2],
      ["rb", "succeeded", 1],
    ]);
  });
});
