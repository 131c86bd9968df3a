import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approvalRunbook, type Harness, setup } from "../helpers.js";

let h: Harness;
let ticketId: number;
let runbookId: number;
beforeAll(async () => {
  h = await setup();
  const rb = await h.json("POST", "/runbooks", { json: { markdown: approvalRunbook } });
  runbookId = rb.body.runbook.id;
  await h.json("POST", `/runbooks/${runbookId}/approve`);
  const t = await h.json("POST", "/tickets/demo/ticket?auto_execute=false", {
    json: { title: "Disk full on web-1", service: "nginx" },
  });
  ticketId = t.body.ticket.id;
});
afterAll(() => h.close());

describe("POST /executions", () => {
  it("plans without running anything when dry_run is true", async () => {
    const r = await h.json("POST", "/executions", {
      token: h.tokens.operator,
      json: { ticket_id: ticketId, runbook_id: runbookId, dry_run: true },
    });
    expect(r.status).toBe(201);
    expect(r.body.session.dry_run).toBe(true);
    expect(r.body.plan.map((p: { rendered: string }) => p.rendered)).toContain("echo cleaning 'nginx'");
  });

  it("shows a compensation in the dry-run plan with the step it undoes", async () => {
    const rb = await h.json("POST", "/runbooks", {
      json: {
        markdown:
          '# Undoable\n\n## Main Steps\n- `echo drain {{ticket.service}}` (name: drain, compensate: "echo undrain {{ticket.service}}")\n',
      },
    });
    expect(rb.status).toBe(201);
    const t = await h.json("POST", "/tickets/demo/ticket?auto_execute=false", {
      json: { title: "Drain web-2", service: "nginx" },
    });
    const r = await h.json("POST", "/executions", {
      token: h.tokens.operator,
      json: { ticket_id: t.body.ticket.id, runbook_id: rb.body.runbook.id, dry_run: true },
    });
    expect(r.status).toBe(201);
    expect(r.body.plan.at(-1)).toMatchObject({
      phase: "rollback",
      name: "compensation of drain",
      rendered: "echo undrain 'nginx'",
      compensates: { index: 0, name: "drain" },
    });
  });

  it("starts a session that stops at the approval step", async () => {
    const r = await h.json("POST", "/executions", {
      token: h.tokens.operator,
      json: { ticket_id: ticketId, runbook_id: runbookId },
    });
    expect(r.status).toBe(201);
    expect(r.body.session).toMatchObject({
      ticket_id: ticketId,
      runbook_id: runbookId,
      started_by: "otto",
      dry_run: false,
    });
    const settled = await h.engine.executions.settled(r.body.session.id);
    expect(settled.status).toBe("awaiting_approval");
    const again = await h.json("POST", "/executions", {
      token: h.tokens.operator,
      json: { ticket_id: ticketId, runbook_id: runbookId },
    });
    expect(again.status).toBe(409);
  });

  it("answers 422 naming snake_case fields when the body is wrong, and 404 for an unknown ticket", async () => {
    const bad = await h.json("POST", "/executions", { json: { ticket_id: "one", runbook_id: -1 } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      "runbook_id",
      "ticket_id",
    ]);
    const missing = await h.json("POST", "/executions", { json: { ticket_id: 9999, runbook_id: runbookId } });
    expect(missing.status).toBe(404);
    expect(
      (await h.json("POST", "/executions", { token: h.tokens.viewer, json: { ticket_id: 1, runbook_id: 1 } }))
        .status,
    ).toBe(403);
  });
});

describe("GET /executions and GET /executions/{id}", () => {
  it("filters by ticket_id and status and returns steps, approvals and timeline", async () => {
    const all = await h.json("GET", `/executions?ticket_id=${ticketId}`, { token: h.tokens.viewer });
    expect(all.body.items.length).toBe(2);
    const waiting = await h.json("GET", "/executions?status=awaiting_approval");
    expect(waiting.body.items).toHaveLength(1);
    expect((await h.json("GET", "/executions?status=bogus")).status).toBe(422);
    const detail = await h.json("GET", `/executions/${waiting.body.items[0].id}`);
    expect(detail.body.steps[0]).toMatchObject({
      phase: "prechecks",
      status: "succeeded",
      stdout: "checking\n",
      exit_code: 0,
    });
    expect(detail.body.approvals[0]).toMatchObject({
      status: "pending",
      rendered_command: "echo cleaning 'nginx'",
    });
    expect(detail.body.timeline.map((t: { kind: string }) => t.kind)).toContain("approval.requested");
    expect((await h.json("GET", "/executions/9999")).status).toBe(404);
  });
});

describe("a ticket's connection_config the runbook does not allow", () => {
  it("shows the warning that it was ignored on GET /executions/{id}, in the session and its timeline", async () => {
    // Any stored connection does: the runbook takes none from tickets.
    await h.engine.connections.create({ name: "pg-main", connectionType: "local", environment: "" });
    const rb = await h.json("POST", "/runbooks", {
      json: { markdown: "# Shell only\n\n## Main Steps\n- `echo hi` (name: hi)\n" },
    });
    const t = await h.json("POST", "/tickets/demo/ticket?auto_execute=false", {
      json: { title: "Redirect me", meta_data: { connection_config: { connection: "pg-main" } } },
    });
    const started = await h.json("POST", "/executions", {
      token: h.tokens.operator,
      json: { ticket_id: t.body.ticket.id, runbook_id: rb.body.runbook.id },
    });
    expect(started.status).toBe(201);
    await h.engine.executions.settled(started.body.session.id);
    const r = await h.json("GET", `/executions/${started.body.session.id}`, { token: h.tokens.viewer });
    expect(r.body.session.status).toBe("succeeded");
    expect(r.body.steps[0].connection).toBe("local");
    expect(r.body.session.warnings).toEqual([
      expect.stringContaining("meta_data.connection_config was ignored"),
    ]);
    expect(
      r.body.timeline
        .filter((e: { kind: string }) => e.kind === "session.warning")
        .map((e: { message: string }) => e.message),
    ).toEqual(r.body.session.warnings);
  });
});

describe("POST /executions/{id}/cancel", () => {
  it("cancels a live session and voids its approval, then answers 409", async () => {
    const { items } = (await h.json("GET", "/executions?status=awaiting_approval")).body;
    const r = await h.json("POST", `/executions/${items[0].id}/cancel`, {
      token: h.tokens.operator,
      json: { reason: "not needed" },
    });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("cancelled");
    const pending = await h.json("GET", "/approvals?status=pending");
    expect(pending.body.items).toEqual([]);
    expect((await h.json("POST", `/executions/${items[0].id}/cancel`)).status).toBe(409);
  });
});

describe("POST /executions/{id}/steps/{step_id}/resolve", () => {
  it("answers 409 when the step is not interrupted and 422 for an unknown choice", async () => {
    const { items } = (await h.json("GET", "/executions?status=cancelled")).body;
    const r = await h.json("POST", `/executions/${items[0].id}/steps/1/resolve`, {
      token: h.tokens.approver,
      json: { choice: "retry" },
    });
    expect(r.status).toBe(409);
    const bad = await h.json("POST", `/executions/${items[0].id}/steps/1/resolve`, {
      json: { choice: "maybe" },
    });
    expect(bad.status).toBe(422);
  });
});
