import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approvalRunbook, type Harness, setup } from "../helpers.js";

/** The connector guide's example, exactly as written. */
const guideRunbook = `# Fix Database Connection

## Prechecks
- \`check_db_status.sh\` (requires_approval: true)

## Main Steps
- \`restart_db_service.sh\` (severity: high_risk, requires_approval: true)

## Postchecks
- \`verify_db_connection.sh\`
`;

const brokenRunbook = `# Broken

## Main Steps
- \`rm -rf /tmp/x\` (severity: catastrophic, requires_approval: maybe)
`;

let h: Harness;
beforeAll(async () => {
  h = await setup();
});
afterAll(() => h.close());

describe("POST /runbooks", () => {
  it("stores a text/markdown body as a draft and answers 201 with the runbook and its plan", async () => {
    const r = await h.json("POST", "/runbooks", {
      token: h.tokens.operator,
      body: guideRunbook,
      headers: { "content-type": "text/markdown" },
    });
    expect(r.status).toBe(201);
    expect(r.body.created).toBe(true);
    expect(r.body.runbook).toMatchObject({
      title: "Fix Database Connection",
      status: "draft",
      created_by: "otto",
    });
    expect(r.body.runbook.plan.phases.main[0]).toMatchObject({
      command: "restart_db_service.sh",
      severity: "high_risk",
      requires_approval: true,
    });
    expect(Array.isArray(r.body.warnings)).toBe(true);
  });

  it("accepts JSON { markdown } and answers 200 created=false when the Markdown is already stored", async () => {
    const again = await h.json("POST", "/runbooks", { json: { markdown: guideRunbook } });
    expect(again.status).toBe(200);
    expect(again.body.created).toBe(false);
    const other = await h.json("POST", "/runbooks", { json: { markdown: approvalRunbook } });
    expect(other.status).toBe(201);
  });

  it("answers 422 with line:column diagnostics when the runbook is broken", async () => {
    const r = await h.json("POST", "/runbooks", {
      body: brokenRunbook,
      headers: { "content-type": "text/markdown" },
    });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("RW_ERR_RUNBOOK_INVALID");
    const diagnostics = r.body.error.details.diagnostics;
    expect(diagnostics.length).toBeGreaterThan(0);
    for (const d of diagnostics) {
      expect(d).toMatchObject({
        line: expect.any(Number),
        column: expect.any(Number),
        rule_id: expect.any(String),
        message: expect.any(String),
      });
    }
    expect(diagnostics.some((d: { line: number }) => d.line === 4)).toBe(true);
  });

  it("answers 422 for an empty runbook or a JSON body without markdown, and 415 for another type", async () => {
    expect(
      (await h.json("POST", "/runbooks", { body: "  \n", headers: { "content-type": "text/markdown" } }))
        .status,
    ).toBe(422);
    const noField = await h.json("POST", "/runbooks", { json: { text: "# x" } });
    expect(noField.status).toBe(422);
    expect(noField.body.error.fields[0].field).toBe("markdown");
    expect(
      (await h.json("POST", "/runbooks", { body: "{x", headers: { "content-type": "application/json" } }))
        .status,
    ).toBe(400);
    expect(
      (await h.json("POST", "/runbooks", { body: "<xml/>", headers: { "content-type": "application/xml" } }))
        .status,
    ).toBe(415);
    expect(
      (await h.json("POST", "/runbooks", { token: h.tokens.viewer, json: { markdown: "# x" } })).status,
    ).toBe(403);
  });
});

describe("GET /runbooks and GET /runbooks/{id}", () => {
  it("lists newest first, filters by status, and returns one with its plan", async () => {
    const list = await h.json("GET", "/runbooks", { token: h.tokens.viewer });
    expect(list.status).toBe(200);
    expect(list.body.items.map((r: { title: string }) => r.title)).toEqual([
      "Disk check",
      "Fix Database Connection",
    ]);
    expect((await h.json("GET", "/runbooks?status=approved")).body.items).toEqual([]);
    expect((await h.json("GET", "/runbooks?status=bogus")).status).toBe(422);
    const one = await h.json("GET", `/runbooks/${list.body.items[1].id}`);
    expect(one.body.plan.title).toBe("Fix Database Connection");
    expect(one.body.markdown).toBe(guideRunbook);
    expect((await h.json("GET", "/runbooks/999")).status).toBe(404);
  });
});

describe("POST /runbooks/{id}/approve and /retire", () => {
  it("approves with the approver's name, refuses operators, and retires", async () => {
    expect((await h.json("POST", "/runbooks/1/approve", { token: h.tokens.operator })).status).toBe(403);
    const approved = await h.json("POST", "/runbooks/1/approve", { token: h.tokens.approver });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: "approved", approved_by: "alice" });
    const retired = await h.json("POST", "/runbooks/1/retire", { token: h.tokens.approver });
    expect(retired.body.status).toBe("retired");
    const again = await h.json("POST", "/runbooks/1/approve", { token: h.tokens.approver });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("RW_ERR_RUNBOOK_LIFECYCLE");
  });
});

describe("POST /runbooks/lint", () => {
  it("answers the diagnostics at their line and column and stores nothing", async () => {
    const before = (await h.json("GET", "/runbooks")).body.items.length;
    const r = await h.json("POST", "/runbooks/lint", {
      token: h.tokens.viewer,
      body: brokenRunbook,
      headers: { "content-type": "text/markdown" },
    });
    expect(r.status).toBe(200);
    expect(r.body.valid).toBe(false);
    expect(r.body.plan).toBeNull();
    expect(r.body.key).toBeNull();
    const errors = r.body.diagnostics.filter((d: { severity: string }) => d.severity === "error");
    expect(errors.length).toBeGreaterThanOrEqual(1);
    for (const d of errors) expect(d).toMatchObject({ line: 4, rule_id: expect.any(String) });
    expect(errors.every((d: { column: number }) => d.column >= 1)).toBe(true);
    expect((await h.json("GET", "/runbooks")).body.items.length).toBe(before);
  });

  it("answers the plan and the key a valid runbook would be stored under, from JSON too", async () => {
    const before = (await h.json("GET", "/runbooks")).body.items.length;
    const r = await h.json("POST", "/runbooks/lint", {
      token: h.tokens.operator,
      json: { markdown: guideRunbook },
    });
    expect(r.status).toBe(200);
    expect(r.body.valid).toBe(true);
    expect(r.body.key).toBe("fix-database-connection");
    expect(r.body.diagnostics).toEqual([]);
    expect(r.body.plan.phases.main[0]).toMatchObject({
      command: "restart_db_service.sh",
      severity: "high_risk",
      requires_approval: true,
    });
    expect((await h.json("GET", "/runbooks")).body.items.length).toBe(before);
  });

  it("refuses an empty body, another media type and a caller without a token", async () => {
    const empty = await h.json("POST", "/runbooks/lint", {
      body: "  \n",
      headers: { "content-type": "text/markdown" },
    });
    expect(empty.status).toBe(422);
    expect(empty.body.error.code).toBe("RW_ERR_INPUT_INVALID");
    const xml = await h.json("POST", "/runbooks/lint", {
      body: "<runbook/>",
      headers: { "content-type": "application/xml" },
    });
    expect(xml.status).toBe(415);
    expect(xml.body.error.code).toBe("RW_ERR_INPUT_MEDIA_TYPE");
    const anonymous = await h.json("POST", "/runbooks/lint", {
      token: null,
      body: guideRunbook,
      headers: { "content-type": "text/markdown" },
    });
    expect(anonymous.status).toBe(401);
  });
});
