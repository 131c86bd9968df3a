import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approvalRunbook, type Harness, setup } from "../helpers.js";

const highRisk = `---
id: restart
---
# Restart service

## Main Steps
- \`echo restarting\` (severity: high_risk, requires_approval: true)
`;

let h: Harness;
let runbookId: number;
let highRiskId: number;

async function pendingFor(title: string, rb: number, token: string) {
  const t = await h.json("POST", "/tickets/demo/ticket?auto_execute=false", {
    json: { title, service: "nginx" },
  });
  const s = await h.json("POST", "/executions", {
    token,
    json: { ticket_id: t.body.ticket.id, runbook_id: rb },
  });
  await h.engine.executions.settled(s.body.session.id);
  const pending = await h.json("GET", `/approvals?status=pending&session_id=${s.body.session.id}`);
  return { sessionId: s.body.session.id as number, approval: pending.body.items[0] };
}

beforeAll(async () => {
  h = await setup();
  runbookId = (await h.json("POST", "/runbooks", { json: { markdown: approvalRunbook } })).body.runbook.id;
  await h.json("POST", `/runbooks/${runbookId}/approve`);
  highRiskId = (await h.json("POST", "/runbooks", { json: { markdown: highRisk } })).body.runbook.id;
  await h.json("POST", `/runbooks/${highRiskId}/approve`);
});
afterAll(() => h.close());

describe("GET /approvals", () => {
  it("lists pending approvals with the rendered command, target and risk", async () => {
    const { approval } = await pendingFor("Disk full on web-1", runbookId, h.tokens.operator);
    const r = await h.json("GET", "/approvals?status=pending", { token: h.tokens.viewer });
    expect(r.status).toBe(200);
    expect(r.body.items[0]).toMatchObject({
      id: approval.id,
      rendered_command: "echo cleaning 'nginx'",
      target: expect.stringContaining("local"),
      risk: "medium_risk",
      ticket_title: "Disk full on web-1",
    });
    expect((await h.json("GET", `/approvals/${approval.id}`)).body.id).toBe(approval.id);
    expect((await h.json("GET", "/approvals?status=maybe")).status).toBe(422);
    expect((await h.json("GET", "/approvals/999")).status).toBe(404);
  });
});

describe("POST /approvals/{id}/approve", () => {
  it("records the token's actor and comment, runs the step, and answers 409 to a second decision", async () => {
    const { sessionId, approval } = await pendingFor("Disk full on web-2", runbookId, h.tokens.operator);
    expect(
      (await h.json("POST", `/approvals/${approval.id}/approve`, { token: h.tokens.operator })).status,
    ).toBe(403);
    expect(
      (await h.json("POST", `/approvals/${approval.id}/approve`, { token: h.tokens.viewer })).status,
    ).toBe(403);
    const r = await h.json("POST", `/approvals/${approval.id}/approve`, {
      token: h.tokens.approver,
      json: { comment: "disk is full, go" },
    });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("approved");
    expect(r.body.decisions).toEqual([
      { actor: "alice", decision: "approve", comment: "disk is full, go", at: expect.any(String) },
    ]);
    expect((await h.engine.executions.settled(sessionId)).status).toBe("succeeded");
    const again = await h.json("POST", `/approvals/${approval.id}/approve`, { token: h.tokens.approver2 });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("RW_ERR_APPROVAL_CONFLICT");
    const audit = await h.engine.audit.list({ objectType: "approval" });
    expect(audit.items.some((e) => e.actor === "alice")).toBe(true);
  });

  it("answers 403 RW_ERR_APPROVAL_SAME_ACTOR when whoever started a high_risk session approves it", async () => {
    const { approval } = await pendingFor("Restart nginx", highRiskId, h.tokens.admin);
    const self = await h.json("POST", `/approvals/${approval.id}/approve`, { token: h.tokens.admin });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe("RW_ERR_APPROVAL_SAME_ACTOR");
    expect(
      (await h.json("POST", `/approvals/${approval.id}/approve`, { token: h.tokens.approver })).status,
    ).toBe(200);
  });

  it("answers 403 RW_ERR_APPROVAL_SAME_ACTOR when whoever uploaded the CSV that auto-executed a high_risk session approves it", async () => {
    const both = (await h.adapter.tokens.create({ actor: "olga", roles: ["operator", "approver"] })).token;
    const auto = await h.json("POST", "/runbooks", {
      json: {
        markdown:
          "---\nid: zebra\nauto_execute: true\nmatch:\n  keywords: [zebra-outage]\n  services: [zebra]\n---\n# Zebra outage\n\nFix the zebra-outage.\n\n## Main Steps\n- `echo restarting` (severity: high_risk, requires_approval: true)\n",
      },
    });
    await h.json("POST", `/runbooks/${auto.body.runbook.id}/approve`);
    const upload = await h.json("POST", "/tickets/upload-csv?auto_execute=true", {
      token: both,
      headers: { "content-type": "text/csv" },
      body: "title,description,severity,environment,service\nzebra-outage on z-1,zebra-outage,high,prod,zebra\n",
    });
    expect(upload.status).toBe(200);
    const ticketId = upload.body.results[0].ticket_id as number;
    expect((await h.json("GET", `/tickets/${ticketId}`)).body.submitted_by).toBe("olga");
    const [session] = (await h.engine.executions.list({ ticketId })).items;
    await h.engine.executions.settled(session!.id);
    const pending = await h.json("GET", `/approvals?status=pending&session_id=${session!.id}`, {
      token: h.tokens.viewer,
    });
    const approval = pending.body.items[0];
    expect(approval).toMatchObject({
      risk: "high_risk",
      started_by: "engine",
      caused_by: "olga",
      excluded_actors: ["engine", "olga"],
    });
    const self = await h.json("POST", `/approvals/${approval.id}/approve`, { token: both });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe("RW_ERR_APPROVAL_SAME_ACTOR");
    expect(self.body.error.message).toContain("who caused the session");
    const other = await h.json("POST", `/approvals/${approval.id}/approve`, { token: h.tokens.approver });
    expect(other.status).toBe(200);
    expect(other.body.excluded_actors).toEqual(["engine", "olga"]);
    const detail = await h.json("GET", `/executions/${session!.id}`);
    expect(detail.body.session).toMatchObject({ started_by: "engine", caused_by: "olga" });
  });

  it("records the webhook's and the demo caller's actor as who submitted the ticket", async () => {
    const hook = await h.json("POST", "/tickets/webhook/generic", {
      token: h.tokens.operator,
      json: { title: "Webhook from a token", service: "web" },
    });
    expect(hook.status).toBe(202);
    expect((await h.json("GET", `/tickets/${hook.body.tickets[0].id}`)).body.submitted_by).toBe("otto");
    const demo = await h.json("POST", "/tickets/demo/ticket?auto_execute=false", {
      token: h.tokens.operator,
      json: { title: "Demo from otto", service: "web" },
    });
    expect(demo.body.ticket.submitted_by).toBe("otto");
  });

  it("answers 422 when the comment is not a string", async () => {
    const r = await h.json("POST", "/approvals/1/approve", {
      token: h.tokens.approver,
      json: { comment: 5 },
    });
    expect(r.status).toBe(422);
    expect(r.body.error.fields[0].field).toBe("comment");
  });
});

describe("POST /approvals/{id}/reject", () => {
  it("stops the session with the rejection's comment", async () => {
    const { sessionId, approval } = await pendingFor("Disk full on web-3", runbookId, h.tokens.operator);
    const r = await h.json("POST", `/approvals/${approval.id}/reject`, {
      token: h.tokens.approver2,
      json: { comment: "not during peak" },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      status: "rejected",
      decisions: [{ actor: "bob", decision: "reject", comment: "not during peak" }],
    });
    expect((await h.engine.executions.settled(sessionId)).status).toBe("rejected");
  });
});
