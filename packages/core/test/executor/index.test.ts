import { afterEach, describe, expect, it } from "vitest";
import {
  createMemoryStorage,
  type ExecutionSession,
  excludedApprovers,
  type Storage,
} from "../../src/index.js";
import {
  admin,
  alice,
  bob,
  carol,
  fakeClock,
  type Harness,
  harness,
  postgresStub,
  viewer,
} from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const guideRunbook = `# Fix Database Connection

## Prechecks
- \`echo checking {{ticket.service}}\` (requires_approval: true)

## Main Steps
- \`echo restarting\` (severity: high_risk, requires_approval: true)

## Postchecks
- \`echo verified\`
`;

async function pendingApproval(sessionId: number) {
  const { items } = await h.engine.approvals.list({ status: "pending", sessionId });
  expect(items).toHaveLength(1);
  return items[0]!;
}

describe("executions.start", () => {
  it("returns the plan of a dry run and runs nothing", async () => {
    h = await harness();
    const ticket = await h.ticket({ service: "pg" });
    const runbookId = await h.runbook(guideRunbook);
    const result = await h.engine.executions.start(ticket.id, runbookId, { actor: alice, dryRun: true });
    expect(result.session).toMatchObject({ dryRun: true, status: "succeeded" });
    expect(
      result.plan?.map((p) => [p.phase, p.rendered, p.connection?.name, p.requiresApproval, p.severity]),
    ).toEqual([
      ["prechecks", "echo checking 'pg'", "local", true, "low_risk"],
      ["main", "echo restarting", "local", true, "high_risk"],
      ["postchecks", "echo verified", "local", false, "low_risk"],
    ]);
    expect(result.steps.every((s) => s.status === "skipped" && s.attempts === 0)).toBe(true);
    expect((await h.engine.approvals.list()).items).toEqual([]);
    expect((await h.engine.tickets.get(ticket.id)).status).toBe("analyzed");
  });

  it("refuses a second live session of the same runbook for the same fingerprint", async () => {
    h = await harness();
    const ticket = await h.ticket();
    const runbookId = await h.runbook(guideRunbook);
    const results = await Promise.allSettled([
      h.engine.executions.start(ticket.id, runbookId, { actor: alice }),
      h.engine.executions.start(ticket.id, runbookId, { actor: alice }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: "RW_ERR_EXEC_STATE" });
    expect(refused.reason.details.sessionId).toEqual(expect.any(Number));
  });

  it("lists sessions by ticket and status, and shows a timeline", async () => {
    h = await harness();
    const ticket = await h.ticket();
    const runbookId = await h.runbook("# T\n\n## Main Steps\n- `true` (name: ok)\n");
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    expect((await h.engine.executions.list({ ticketId: ticket.id })).items.map((s) => s.id)).toEqual([
      session.id,
    ]);
    expect((await h.engine.executions.list({ status: "failed" })).items).toEqual([]);
    const { timeline } = await h.engine.executions.get(session.id);
    expect(timeline.map((t) => t.kind)).toEqual([
      "session.created",
      "step.started",
      "step.succeeded",
      "session.succeeded",
    ]);
  });
});

describe("approvals", () => {
  it("stops at each approval and runs on once approved, a second person approving high_risk", async () => {
    h = await harness();
    const ticket = await h.ticket({ service: "pg" });
    const runbookId = await h.runbook(guideRunbook);
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    expect((await h.engine.executions.settled(session.id)).status).toBe("awaiting_approval");
    const first = await pendingApproval(session.id);
    expect(first).toMatchObject({
      renderedCommand: "echo checking 'pg'",
      target: "local (local)",
      risk: "low_risk",
      ticketTitle: ticket.title,
      startedBy: "alice",
    });
    await h.engine.approvals.approve(first.id, { actor: alice, comment: "go" });
    expect((await h.engine.executions.settled(session.id)).status).toBe("awaiting_approval");
    const second = await pendingApproval(session.id);
    expect(second.risk).toBe("high_risk");
    await expect(h.engine.approvals.approve(second.id, { actor: alice })).rejects.toMatchObject({
      code: "RW_ERR_APPROVAL_SAME_ACTOR",
    });
    await expect(h.engine.approvals.approve(second.id, { actor: viewer })).rejects.toMatchObject({
      code: "RW_ERR_APPROVAL_FORBIDDEN",
    });
    await h.engine.approvals.approve(second.id, { actor: bob, comment: "ok by me" });
    const done = await h.engine.executions.settled(session.id);
    expect(done.status).toBe("succeeded");
    expect((await h.engine.tickets.get(ticket.id)).status).toBe("resolved");
    const audit = (await h.engine.audit.list({ objectType: "approval", order: "asc" })).items.map((e) => [
      e.actor,
      e.action,
    ]);
    expect(audit).toEqual([
      ["engine", "approval.requested"],
      ["alice", "approval.approved"],
      ["engine", "approval.requested"],
      ["bob", "approval.approved"],
    ]);
  });

  it("stops the session and records the reason on the ticket when rejected", async () => {
    h = await harness();
    const ticket = await h.ticket();
    const runbookId = await h.runbook(guideRunbook);
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    const approval = await pendingApproval(session.id);
    const rejected = await h.engine.approvals.reject(approval.id, {
      actor: bob,
      comment: "not during the sale",
    });
    expect(rejected.status).toBe("rejected");
    const detail = await h.engine.executions.get(session.id);
    expect(detail.session.status).toBe("rejected");
    expect(detail.steps.map((s) => s.status)).toEqual(["rejected", "skipped", "skipped"]);
    expect(await h.engine.tickets.get(ticket.id)).toMatchObject({
      status: "needs_human",
      statusReason: 'step "echo-checking" rejected by bob: not during the sale',
    });
    await expect(h.engine.approvals.approve(approval.id, { actor: carol })).rejects.toMatchObject({
      code: "RW_ERR_APPROVAL_CONFLICT",
    });
  });

  it("lets exactly one of two concurrent decisions win", async () => {
    h = await harness();
    const ticket = await h.ticket();
    const runbookId = await h.runbook(guideRunbook);
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    const approval = await pendingApproval(session.id);
    const results = await Promise.allSettled([
      h.engine.approvals.approve(approval.id, { actor: bob }),
      h.engine.approvals.reject(approval.id, { actor: carol, comment: "no" }),
      h.engine.approvals.approve(approval.id, { actor: admin }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((r) => r.status === "rejected")) {
      expect((r as PromiseRejectedResult).reason.code).toBe("RW_ERR_APPROVAL_CONFLICT");
    }
  });

  it("expires an undecided approval: the step is rejected and the ticket needs a human", async () => {
    const clock = fakeClock();
    h = await harness({ clock, policy: { approvalTtlMs: 60_000 } });
    const ticket = await h.ticket();
    const runbookId = await h.runbook(guideRunbook);
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    const approval = await pendingApproval(session.id);
    clock.advance(59_000);
    expect(await h.engine.approvals.expireDue()).toBe(0);
    clock.advance(2_000);
    await expect(h.engine.approvals.approve(approval.id, { actor: bob })).rejects.toMatchObject({
      code: "RW_ERR_APPROVAL_EXPIRED",
    });
    expect((await h.engine.approvals.get(approval.id)).status).toBe("expired");
    expect((await h.engine.executions.get(session.id)).session.status).toBe("rejected");
    const updated = await h.engine.tickets.get(ticket.id);
    expect(updated.status).toBe("needs_human");
    expect(updated.statusReason).toMatch(/expired/);
  });

  it("expires approvals from the background sweeper once the engine has started", async () => {
    const clock = fakeClock();
    h = await harness({ clock, policy: { approvalTtlMs: 1_000 } });
    await h.engine.start();
    const ticket = await h.ticket();
    const runbookId = await h.runbook(guideRunbook);
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    clock.advance(5_000);
    const finished = await new Promise<ExecutionSession>((resolve) => {
      h.engine.events.on("session:finished", async (e) => {
        if (e.sessionId === session.id) resolve((await h.engine.executions.get(session.id)).session);
      });
    });
    expect(finished.status).toBe("rejected");
  });

  it("needs as many approvers as the policy asks", async () => {
    h = await harness({ policy: { requiredApprovals: (step) => (step.severity === "high_risk" ? 2 : 1) } });
    const ticket = await h.ticket();
    const runbookId = await h.runbook(
      "# Two\n\n## Main Steps\n- `echo big` (severity: high_risk, requires_approval: true)\n",
    );
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    const approval = await pendingApproval(session.id);
    expect(approval.requiredApprovals).toBe(2);
    const partial = await h.engine.approvals.approve(approval.id, { actor: bob });
    expect(partial).toMatchObject({ status: "pending", decisions: [{ actor: "bob", decision: "approve" }] });
    await expect(h.engine.approvals.approve(approval.id, { actor: bob })).rejects.toMatchObject({
      code: "RW_ERR_APPROVAL_CONFLICT",
    });
    expect((await h.engine.executions.get(session.id)).session.status).toBe("awaiting_approval");
    await h.engine.approvals.approve(approval.id, { actor: carol });
    expect((await h.engine.executions.settled(session.id)).status).toBe("succeeded");
  });

  it("voids an approval when the rendered command changes before the decision", async () => {
    h = await harness();
    const ticket = await h.ticket({ service: "pg" });
    const runbookId = await h.runbook(
      "# Void\n\n## Main Steps\n- `echo restart {{ticket.service}}` (requires_approval: true)\n",
    );
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    const approval = await pendingApproval(session.id);
    const stored = await h.engine.storage.tickets.get(ticket.id);
    await h.engine.storage.tickets.update(ticket.id, stored!.version, { service: "mysql" });
    const err = await h.engine.approvals.approve(approval.id, { actor: bob }).catch((e) => e);
    expect(err.code).toBe("RW_ERR_APPROVAL_VOID");
    expect((await h.engine.approvals.get(approval.id)).status).toBe("void");
    const replacement = await h.engine.approvals.get(err.details.replacedBy);
    expect(replacement).toMatchObject({ status: "pending", renderedCommand: "echo restart 'mysql'" });
    await h.engine.approvals.approve(replacement.id, { actor: bob });
    expect((await h.engine.executions.settled(session.id)).status).toBe("succeeded");
    expect((await h.engine.executions.get(session.id)).steps[0]?.stdout).toBe("restart mysql\n");
  });

  it("voids an approval when the target connection changes before the decision", async () => {
    h = await harness({ policy: { allowedRawHosts: [] } });
    const ticket = await h.ticket({ environment: "prod" });
    await h.engine.connections.create({
      name: "box",
      connectionType: "local",
      environment: "prod",
      targetHost: "10.0.0.1",
    });
    const runbookId = await h.runbook(
      "# Tgt\n\n## Main Steps\n- `echo hi` (requires_approval: true, connection: box)\n",
    );
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    const approval = await pendingApproval(session.id);
    const box = await h.engine.connections.getByName("box");
    await h.engine.connections.update(box!.id, { targetHost: "10.0.0.99" });
    await expect(h.engine.approvals.approve(approval.id, { actor: bob })).rejects.toMatchObject({
      code: "RW_ERR_APPROVAL_VOID",
    });
  });
});

describe("connection resolution", () => {
  it("refuses a raw host from a ticket unless the policy allows it", async () => {
    h = await harness();
    const runbookId = await h.runbook(
      "---\nticket_connections:\n  types: [ssh]\n---\n# Raw\n\n## Main Steps\n- `echo hi` (name: hi)\n",
    );
    const ticket = await h.ticket({
      metaData: {
        connection_config: { connector_type: "ssh", host: "192.168.1.100", port: 22, credential_id: 5 },
      },
    });
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    expect(session.status).toBe("failed");
    expect(session.error).toMatch(
      /RW_ERR_EXEC_CONNECTION: the ticket points at host "192.168.1.100", which the policy does not allow/,
    );
  });

  it("refuses a ticket's connection or credential of another environment", async () => {
    h = await harness({ policy: { allowedRawHosts: ["box.internal"] } });
    await h.engine.connections.create({ name: "stg-box", connectionType: "local", environment: "staging" });
    const staging = await h.engine.credentials.create({
      name: "stg",
      credentialType: "generic",
      environment: "staging",
      password: "x",
    });
    const runbookId = await h.runbook(
      "---\nticket_connections:\n  types: [local]\n---\n# Env\n\n## Main Steps\n- `echo hi` (name: hi)\n",
    );
    const byName = await h.ticket({
      environment: "prod",
      metaData: { connection_config: { connection: "stg-box" } },
    });
    const first = await h.engine.executions.start(byName.id, runbookId, { actor: alice });
    expect(first.session.error).toMatch(
      /connection "stg-box" belongs to environment "staging", the ticket to "prod"/,
    );
    // The host is allowed, but the credential belongs to another environment.
    const raw = await h.ticket({
      title: "raw",
      environment: "prod",
      metaData: {
        connection_config: { connector_type: "local", host: "box.internal", credential_id: staging.id },
      },
    });
    const second = await h.engine.executions.start(raw.id, runbookId, { actor: alice });
    expect(second.session.error).toMatch(
      /credential \d+ belongs to environment "staging", the ticket to "prod"/,
    );
  });

  it("prefers the step's connection, then the runbook's, then the ticket's, then local", async () => {
    h = await harness({ policy: { allowedRawHosts: ["allowed.example"] } });
    await h.engine.connections.create({ name: "from-step", connectionType: "local", environment: "prod" });
    await h.engine.connections.create({ name: "from-runbook", connectionType: "local", environment: "prod" });
    await h.engine.connections.create({ name: "from-ticket", connectionType: "local", environment: "prod" });
    const runbookId = await h.runbook(
      "---\nconnection: from-runbook\n---\n# Order\n\n## Main Steps\n- `echo a` (name: a, connection: from-step)\n- `echo b` (name: b)\n",
    );
    const plainId = await h.runbook(
      "---\nticket_connections:\n  types: [local]\n---\n# Plain\n\n## Main Steps\n- `echo c` (name: c)\n",
    );
    const ticket = await h.ticket({ metaData: { connection_config: { connection: "from-ticket" } } });
    const first = await h.engine.executions.start(ticket.id, runbookId, { actor: alice, dryRun: true });
    expect(first.plan?.map((p) => [p.connection?.name, p.connection?.source])).toEqual([
      ["from-step", "step"],
      ["from-runbook", "runbook"],
    ]);
    const second = await h.engine.executions.start(ticket.id, plainId, { actor: alice, dryRun: true });
    expect(second.plan?.[0]?.connection).toMatchObject({ name: "from-ticket", source: "ticket" });
    const raw = await h.ticket({
      title: "raw",
      metaData: { connection_config: { connector_type: "local", host: "allowed.example" } },
    });
    const third = await h.engine.executions.start(raw.id, plainId, { actor: alice, dryRun: true });
    expect(third.plan?.[0]?.connection).toMatchObject({
      name: "local://allowed.example",
      targetHost: "allowed.example",
      source: "ticket",
    });
    const bare = await h.ticket({ title: "bare" });
    const fourth = await h.engine.executions.start(bare.id, plainId, { actor: alice, dryRun: true });
    expect(fourth.plan?.[0]?.connection).toMatchObject({ name: "local", source: "default" });
  });
});

describe("ticket-chosen connections", () => {
  const shellStep = "## Main Steps\n- `echo {{ticket.service}}` (name: shell)\n";

  it("ignores a ticket's connection_config, with a warning on the session, when the runbook does not opt in", async () => {
    h = await harness({ connectors: [postgresStub] });
    await h.engine.connections.create({
      name: "pg-prod",
      connectionType: "database",
      targetService: "postgresql",
      targetHost: "127.0.0.1",
      environment: "prod",
    });
    const runbookId = await h.runbook(`# Local shell\n\n${shellStep}`);
    const ticket = await h.ticket({ metaData: { connection_config: { connection: "pg-prod" } } });
    const dry = await h.engine.executions.start(ticket.id, runbookId, { actor: alice, dryRun: true });
    expect(dry.plan?.[0]?.connection).toMatchObject({
      name: "local",
      connectionType: "local",
      source: "default",
    });
    expect(dry.steps[0]?.connection).toBe("local");
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    expect(session.warnings).toEqual([
      expect.stringMatching(
        /meta_data\.connection_config was ignored: runbook "local-shell" has no ticket_connections in its front matter/,
      ),
    ]);
    const settled = await h.engine.executions.settled(session.id);
    expect(settled.status).toBe("succeeded");
    const detail = await h.engine.executions.get(session.id);
    expect(detail.steps[0]).toMatchObject({ connection: "local", stdout: "db\n" });
    expect(detail.timeline.find((t) => t.kind === "session.warning")?.message).toContain(
      "meta_data.connection_config was ignored",
    );
    // A ticket without connection_config gets no warning.
    const plain = await h.ticket({ title: "plain", service: "web" });
    const quiet = await h.engine.executions.start(plain.id, runbookId, { actor: alice, dryRun: true });
    expect(quiet.session.warnings ?? []).toEqual([]);
  });

  it("records the connection a step would have used, ignoring the ticket's choice, when planning fails", async () => {
    h = await harness({ connectors: [postgresStub] });
    await h.engine.connections.create({
      name: "pg-prod",
      connectionType: "database",
      targetService: "postgresql",
      environment: "prod",
    });
    const runbookId = await h.runbook(
      "# Broken\n\n## Main Steps\n- `echo a` (name: a, connection: missing)\n- `echo b` (name: b)\n",
    );
    const ticket = await h.ticket({ metaData: { connection_config: { connection: "pg-prod" } } });
    const { session, steps } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    expect(session.status).toBe("failed");
    expect(steps.map((s) => [s.name, s.connection])).toEqual([
      ["a", "missing"],
      ["b", "local"],
    ]);
  });

  it("uses the connection a ticket chooses when the runbook lists its type or name", async () => {
    h = await harness({ policy: { allowedRawHosts: ["192.168.1.100"] } });
    await h.engine.connections.create({ name: "web-01", connectionType: "local", environment: "prod" });
    const cred = await h.engine.credentials.create({
      name: "ssh-prod",
      credentialType: "generic",
      environment: "prod",
      username: "admin",
      password: "pw",
    });
    const byName = await h.runbook(
      `---\nid: by-name\nticket_connections:\n  names: [web-01]\n---\n# By name\n\n${shellStep}`,
    );
    const ticket = await h.ticket({ metaData: { connection_config: { connection: "web-01" } } });
    const first = await h.engine.executions.start(ticket.id, byName, { actor: alice, dryRun: true });
    expect(first.plan?.[0]?.connection).toMatchObject({ name: "web-01", source: "ticket" });
    expect(first.steps[0]?.connection).toBe("web-01");
    expect(first.session.warnings ?? []).toEqual([]);
    // The connector guide's documented body: a raw host with connector_type, port, username, credential_id.
    const byType = await h.runbook(
      `---\nid: by-type\nticket_connections:\n  types: [ssh]\n---\n# By type\n\n${shellStep}`,
    );
    const guide = await h.ticket({
      title: "guide",
      metaData: {
        connection_config: {
          connector_type: "ssh",
          host: "192.168.1.100",
          port: 22,
          username: "admin",
          credential_id: cred.id,
        },
      },
    });
    const second = await h.engine.executions.start(guide.id, byType, { actor: alice, dryRun: true });
    expect(second.plan?.[0]?.error).toBeNull();
    expect(second.plan?.[0]?.connection).toMatchObject({
      name: "ssh://192.168.1.100:22",
      connectionType: "ssh",
      targetHost: "192.168.1.100",
      targetPort: 22,
      credentialId: cred.id,
      source: "ticket",
    });
    expect(second.steps[0]?.connection).toBe("ssh://192.168.1.100:22");
  });

  it("refuses a ticket's connection whose type and name the runbook's ticket_connections do not list", async () => {
    h = await harness({ connectors: [postgresStub] });
    await h.engine.connections.create({
      name: "pg-prod",
      connectionType: "database",
      targetService: "postgresql",
      environment: "prod",
    });
    const runbookId = await h.runbook(
      `---\nticket_connections:\n  types: [ssh]\n  names: [web-01]\n---\n# Ssh only\n\n${shellStep}`,
    );
    const ticket = await h.ticket({ metaData: { connection_config: { connection: "pg-prod" } } });
    const { session, steps } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    expect(session.status).toBe("failed");
    expect(steps[0]?.status).toBe("failed");
    expect(session.error).toMatch(
      /RW_ERR_EXEC_CONNECTION: the ticket's meta_data\.connection_config chooses connection "pg-prod" \(type database\), which ticket_connections does not allow \(types: ssh; names: web-01\)/,
    );
    expect(session.error).toContain('step "shell" at line 9:3: add the type or name');
  });
});

describe("executions.cancel", () => {
  it("kills the running step and stops the session", async () => {
    h = await harness();
    const ticket = await h.ticket();
    const runbookId = await h.runbook(
      "# Long\n\n## Main Steps\n- `sleep 20` (name: long)\n- `echo never` (name: next)\n",
    );
    const started = new Promise<void>((resolve) => h.engine.events.once("step:started", () => resolve()));
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await started;
    const t0 = performance.now();
    const cancelled = await h.engine.executions.cancel(session.id, { actor: bob, reason: "wrong box" });
    expect(cancelled.status).toBe("cancelled");
    await h.engine.executions.settled(session.id);
    expect(performance.now() - t0).toBeLessThan(3_000);
    const detail = await h.engine.executions.get(session.id);
    expect(detail.steps.map((s) => s.status)).toEqual(["cancelled", "skipped"]);
    expect((await h.engine.tickets.get(ticket.id)).statusReason).toBe("cancelled by bob: wrong box");
    expect(detail.timeline.some((t) => t.kind === "session.cancelled" && t.actor === "bob")).toBe(true);
    await expect(h.engine.executions.cancel(session.id, { actor: bob })).rejects.toMatchObject({
      code: "RW_ERR_EXEC_STATE",
    });
  });

  it("voids the pending approval of a session waiting for one", async () => {
    h = await harness();
    const ticket = await h.ticket();
    const runbookId = await h.runbook(guideRunbook);
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    const approval = await pendingApproval(session.id);
    await h.engine.executions.cancel(session.id, { actor: alice });
    expect((await h.engine.approvals.get(approval.id)).status).toBe("void");
  });

  it("cancels the waiting session and keeps the ticket resolved when its source resolves it", async () => {
    h = await harness();
    const ticket = await h.ticket({ fingerprint: "alert-77", source: "generic" });
    const runbookId = await h.runbook(guideRunbook);
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    const approval = await pendingApproval(session.id);

    const body = { title: ticket.title, fingerprint: "alert-77", resolved: true };
    const result = await h.engine.tickets.ingestWebhook("generic", {
      headers: {},
      body,
      rawBody: JSON.stringify(body),
    });
    expect(result.resolved.map((t) => t.id)).toEqual([ticket.id]);
    const stopped = (await h.engine.executions.get(session.id)).session;
    expect(stopped.status).toBe("cancelled");
    expect(stopped.error).toMatch(/^cancelled by engine: the source resolved the ticket/);
    expect((await h.engine.approvals.get(approval.id)).status).toBe("void");
    expect((await h.engine.tickets.get(ticket.id)).status).toBe("resolved");
  });
});

describe("recovery", () => {
  /** A session left by a dead engine: its lease has run out and `stepStatus` is where it stopped. */
  let orphans = 0;
  async function orphan(storage: Storage, stepStatus: "running" | "pending", idempotent: boolean) {
    orphans++;
    const ticket = await h.ticket({ title: `orphan ${orphans} ${stepStatus} ${idempotent}` });
    const runbookId = await h.runbook(
      `# Orphan ${stepStatus} ${idempotent}\n\n## Main Steps\n- \`echo again\` (name: work${idempotent ? ", idempotent: true" : ""})\n- \`echo after\` (name: after)\n`,
    );
    const record = await h.engine.runbooks.get(runbookId);
    const now = new Date().toISOString();
    const base = {
      rendered: null,
      language: "sh",
      connection: "local",
      requiresApproval: false,
      severity: "low_risk" as const,
      attempts: stepStatus === "running" ? 1 : 0,
      exitCode: null,
      stdout: "",
      stderr: "",
      startedAt: null,
      finishedAt: null,
      error: null,
    };
    const { session } = await storage.createSession(
      {
        ticketId: ticket.id,
        runbookId,
        runbookKey: record.key,
        runbookRevision: record.revision,
        status: "running",
        phase: "main",
        dryRun: false,
        startedBy: "alice",
        fingerprint: ticket.fingerprint,
        createdAt: now,
        updatedAt: now,
        finishedAt: null,
        error: null,
        lease: { owner: "dead-engine", expiresAt: new Date(Date.now() - 1000).toISOString() },
      },
      [
        {
          ...base,
          index: 0,
          phase: "main",
          name: "work",
          command: "echo again",
          idempotent,
          status: stepStatus,
        },
        {
          ...base,
          attempts: 0,
          index: 1,
          phase: "main",
          name: "after",
          command: "echo after",
          idempotent: false,
          status: "pending",
        },
      ],
    );
    return session.id;
  }

  it("resumes orphaned sessions on start: pending steps run, running steps are interrupted or retried", async () => {
    const storage = createMemoryStorage();
    h = await harness({ storage });
    const pending = await orphan(storage, "pending", false);
    const interrupted = await orphan(storage, "running", false);
    const retried = await orphan(storage, "running", true);
    await h.engine.start();
    expect((await h.engine.executions.settled(pending)).status).toBe("succeeded");
    expect((await h.engine.executions.settled(retried)).status).toBe("succeeded");
    const stuck = await h.engine.executions.settled(interrupted);
    expect(stuck.status).toBe("interrupted");
    const detail = await h.engine.executions.get(interrupted);
    expect(detail.steps.map((s) => s.status)).toEqual(["interrupted", "pending"]);
    expect((await h.engine.tickets.get(detail.session.ticketId)).status).toBe("needs_human");

    await h.engine.executions.resolveInterrupted(interrupted, detail.steps[0]!.id, "retry", { actor: bob });
    expect((await h.engine.executions.settled(interrupted)).status).toBe("succeeded");
    const after = await h.engine.executions.get(interrupted);
    expect(after.steps.map((s) => [s.status, s.attempts])).toEqual([
      ["succeeded", 2],
      ["succeeded", 1],
    ]);
    expect(after.timeline.some((t) => t.kind === "step.retried" && t.actor === "bob")).toBe(true);
  });

  it("skips or aborts an interrupted step as a person chooses", async () => {
    const storage = createMemoryStorage();
    h = await harness({ storage });
    const toSkip = await orphan(storage, "running", false);
    const toAbort = await orphan(storage, "running", false);
    await h.engine.start();
    await h.engine.executions.settled(toSkip);
    await h.engine.executions.settled(toAbort);
    const skipStep = (await h.engine.executions.get(toSkip)).steps[0]!;
    await h.engine.executions.resolveInterrupted(toSkip, skipStep.id, "skip", { actor: bob });
    expect((await h.engine.executions.settled(toSkip)).status).toBe("succeeded");
    expect((await h.engine.executions.get(toSkip)).steps.map((s) => s.status)).toEqual([
      "skipped",
      "succeeded",
    ]);
    const abortStep = (await h.engine.executions.get(toAbort)).steps[0]!;
    const aborted = await h.engine.executions.resolveInterrupted(toAbort, abortStep.id, "abort", {
      actor: bob,
    });
    expect(aborted.status).toBe("failed");
    await expect(
      h.engine.executions.resolveInterrupted(toAbort, abortStep.id, "retry", { actor: bob }),
    ).rejects.toMatchObject({
      code: "RW_ERR_EXEC_STATE",
    });
  });

  it("interrupts a running step cleanly when the engine closes", async () => {
    const storage = createMemoryStorage();
    h = await harness({ storage, policy: { closeGraceMs: 100 } });
    const ticket = await h.ticket();
    const runbookId = await h.runbook("# Close\n\n## Main Steps\n- `sleep 20` (name: long)\n");
    const started = new Promise<void>((resolve) => h.engine.events.once("step:started", () => resolve()));
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await started;
    const closing = h.engine.close();
    // The store closes with the engine: look at the records through the in-flight writes instead.
    let step: { status: string } | undefined;
    h.engine.events.on("step:finished", (e) => {
      step = { status: e.status };
    });
    await closing;
    expect(step?.status).toBe("interrupted");
    h = undefined as never;
    expect(session.id).toBeGreaterThan(0);
  });
});

describe("auto-execution", () => {
  it("starts the matched runbook and pauses it after repeated failures, saying so", async () => {
    h = await harness({ policy: { circuitBreakerThreshold: 2 } });
    await h.runbook(
      "---\nauto_execute: true\nmatch:\n  keywords: [zebra-outage]\n  services: [zebra]\n---\n# Zebra outage fix\n\nFix the zebra-outage.\n\n## Main Steps\n- `false` (name: fix)\n",
    );
    const finished: number[] = [];
    h.engine.events.on("session:finished", (e) => finished.push(e.sessionId));
    const ingest = async (i: number) => {
      const { ticket } = await h.engine.tickets.ingest({
        title: `zebra-outage number ${i}`,
        description: "zebra-outage",
        service: "zebra",
        environment: "prod",
        source: "test",
      });
      return ticket;
    };
    for (let i = 0; i < 2; i++) {
      const ticket = await ingest(i);
      const [s] = (await h.engine.executions.list({ ticketId: ticket.id })).items;
      expect(s, `ticket ${i} analysis: ${JSON.stringify(ticket.analysis?.decision)}`).toBeDefined();
      expect((await h.engine.executions.settled(s!.id)).status).toBe("failed");
    }
    const third = await ingest(3);
    expect((await h.engine.executions.list({ ticketId: third.id })).items).toEqual([]);
    const updated = await h.engine.tickets.get(third.id);
    expect(updated.status).toBe("needs_human");
    expect(updated.statusReason).toMatch(/paused after 2 consecutive failures/);
    const key = (await h.engine.runbooks.list()).items[0]!.key;
    expect(h.engine.executions.breaker(key).open).toBe(true);
    expect((await h.engine.audit.list({ action: "runbook.auto_execution_paused" })).items).toHaveLength(1);
  });

  it("lists a paused runbook with an event, and a person's resume runs the next ticket again", async () => {
    h = await harness({ policy: { circuitBreakerThreshold: 1 } });
    await h.runbook(
      "---\nauto_execute: true\nmatch:\n  keywords: [zebra-outage]\n  services: [zebra]\n---\n# Zebra outage fix\n\nFix the zebra-outage.\n\n## Main Steps\n- `false` (name: fix)\n",
    );
    const paused: unknown[] = [];
    const resumed: unknown[] = [];
    h.engine.events.on("runbook:auto-execution-paused", (e) => paused.push(e));
    h.engine.events.on("runbook:auto-execution-resumed", (e) => resumed.push(e));
    const ingest = async (i: number) =>
      (
        await h.engine.tickets.ingest({
          title: `zebra-outage number ${i}`,
          description: "zebra-outage",
          service: "zebra",
          environment: "prod",
          source: "test",
        })
      ).ticket;
    const first = await ingest(1);
    const [s] = (await h.engine.executions.list({ ticketId: first.id })).items;
    expect((await h.engine.executions.settled(s!.id)).status).toBe("failed");
    const key = (await h.engine.runbooks.list()).items[0]!.key;
    expect(paused).toEqual([{ key, failures: 1, until: expect.any(String) }]);
    expect(h.engine.executions.pausedAutoExecutions()).toEqual([
      { runbookKey: key, open: true, failures: 1, until: expect.any(String) },
    ]);

    await h.engine.executions.resetBreaker(key, { actor: alice });
    expect(resumed).toEqual([{ key, actor: alice.id }]);
    expect(h.engine.executions.pausedAutoExecutions()).toEqual([]);
    const next = await ingest(2);
    expect((await h.engine.executions.list({ ticketId: next.id })).items).toHaveLength(1);
  });
});

describe("four-eyes for auto-executed sessions", () => {
  const zebraRunbook =
    "---\nauto_execute: true\nmatch:\n  keywords: [zebra-outage]\n  services: [zebra]\n---\n# Zebra outage fix\n\nFix the zebra-outage.\n\n## Main Steps\n- `echo restarting` (name: restart, severity: high_risk, requires_approval: true)\n";
  const csv =
    "title,description,severity,environment,service,source\nzebra-outage on z-1,zebra-outage,high,prod,zebra,csv\n";

  it("refuses the CSV uploader's approval of a high_risk step of the session their upload started, and takes another's", async () => {
    h = await harness();
    await h.runbook(zebraRunbook);
    const result = await h.engine.tickets.importCsv(csv, { autoExecute: true, submittedBy: "alice" });
    const ticket = await h.engine.tickets.get(result.ticketIds![0]!);
    expect(ticket.submittedBy).toBe("alice");
    const [session] = (await h.engine.executions.list({ ticketId: ticket.id })).items;
    expect(session).toMatchObject({ startedBy: "engine", causedBy: "alice" });
    expect((await h.engine.executions.settled(session!.id)).status).toBe("awaiting_approval");
    const approval = await pendingApproval(session!.id);
    expect(approval).toMatchObject({ risk: "high_risk", startedBy: "engine", causedBy: "alice" });
    expect(excludedApprovers(approval)).toEqual(["engine", "alice"]);
    const refused = await h.engine.approvals.approve(approval.id, { actor: alice }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "RW_ERR_APPROVAL_SAME_ACTOR" });
    expect((refused as Error).message).toMatch(/someone other than alice, who caused the session/);
    await h.engine.approvals.approve(approval.id, { actor: bob, comment: "restart it" });
    expect((await h.engine.executions.settled(session!.id)).status).toBe("succeeded");
  });

  it("records the submitter of an SDK or webhook ticket as the cause of its auto-executed session", async () => {
    h = await harness();
    await h.runbook(zebraRunbook);
    const { ticket } = await h.engine.tickets.ingest(
      { title: "zebra-outage again", description: "zebra-outage", service: "zebra", environment: "prod" },
      { submittedBy: "carol" },
    );
    const [session] = (await h.engine.executions.list({ ticketId: ticket.id })).items;
    expect(session).toMatchObject({ startedBy: "engine", causedBy: "carol" });
    await h.engine.executions.settled(session!.id);
    const approval = await pendingApproval(session!.id);
    await expect(h.engine.approvals.approve(approval.id, { actor: carol })).rejects.toMatchObject({
      code: "RW_ERR_APPROVAL_SAME_ACTOR",
    });
    await h.engine.executions.cancel(session!.id, { actor: admin });
    const webhook = await h.engine.tickets.ingestWebhook(
      "generic",
      {
        headers: {},
        body: {
          title: "zebra-outage 3",
          description: "zebra-outage",
          service: "zebra",
          environment: "prod",
          fingerprint: "z3",
        },
        rawBody: "",
      },
      { submittedBy: "webhook:generic" },
    );
    const hooked = webhook.tickets[0]!.ticket;
    expect(hooked.submittedBy).toBe("webhook:generic");
    const [third] = (await h.engine.executions.list({ ticketId: hooked.id })).items;
    expect(third).toMatchObject({ startedBy: "engine", causedBy: "webhook:generic" });
    // A person who starts a session causes it too.
    const manual = await h.ticket({ title: "manual" });
    const plainId = await h.runbook("# Manual\n\n## Main Steps\n- `true` (name: ok)\n");
    const started = await h.engine.executions.start(manual.id, plainId, { actor: bob });
    expect(started.session).toMatchObject({ startedBy: "bob", causedBy: "bob" });
  });
});
