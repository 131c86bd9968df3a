import { hashRunbook } from "@runwarden/runbook-parser";
import { describe, expect, it } from "vitest";
import { isRunwardenError } from "../src/errors.js";
import { slugify } from "../src/runbooks.js";
import { admin, loadSampleRunbooks, makeIntake, operator } from "./support/engine-context.js";

const disk = (extra = "") => `---
id: disk-cleanup
match:
  services: [nginx]
  keywords: [disk full]
${extra}---

# Disk Cleanup

## Main Steps
- \`df -h /\` (severity: safe)
`;

const noFrontMatter = `# Fix Database Connection

## Prechecks
- \`check_db_status.sh\` (requires_approval: true)

## Main Steps
- \`restart_db_service.sh\` (severity: high_risk, requires_approval: true)

## Postchecks
- \`verify_db_connection.sh\`
`;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isRunwardenError(err)) return err.code;
    throw err;
  }
  return "no error";
}

describe("slugify", () => {
  it("makes a kebab-case key when given a title", () => {
    expect(slugify("Fix Database Connection!")).toBe("fix-database-connection");
    expect(slugify("Ünïcode — déjà vu")).toBe("unicode-deja-vu");
    expect(slugify("!!!")).toBe("runbook");
  });
});

describe("createRunbooksApi", () => {
  it("stores a draft keyed by the title slug when the runbook has no front matter", async () => {
    const { runbooks, audit, ctx } = await makeIntake();
    const events: unknown[] = [];
    ctx.events.on("runbook:created", (e) => events.push(e));
    const { runbook, plan, warnings, created } = await runbooks.create(noFrontMatter, { actor: admin });
    expect(runbook).toMatchObject({
      key: "fix-database-connection",
      revision: 1,
      status: "draft",
      createdBy: "alice",
    });
    expect(runbook.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(plan.phases.main[0]?.command).toBe("restart_db_service.sh");
    expect(Array.isArray(warnings)).toBe(true);
    expect(created).toBe(true);
    expect(events).toEqual([
      { runbookId: runbook.id, key: "fix-database-connection", revision: 1, status: "draft" },
    ]);
    expect(audit.entries[0]).toMatchObject({
      actor: "alice",
      action: "runbook.created",
      objectType: "runbook",
    });
  });

  it("throws RW_ERR_RUNBOOK_INVALID with diagnostics when the Markdown has errors", async () => {
    const { runbooks } = await makeIntake();
    const err = await runbooks.create("# Title only\n", { actor: admin }).catch((e: unknown) => e);
    expect(isRunwardenError(err) && err.code).toBe("RW_ERR_RUNBOOK_INVALID");
    const diagnostics = (err as { details: { diagnostics: { line: number; ruleId: string }[] } }).details
      .diagnostics;
    expect(diagnostics.length).toBeGreaterThan(0);
    expect(diagnostics[0]).toHaveProperty("line");
  });

  it("makes the next revision when a changed runbook is uploaded under the same key", async () => {
    const { runbooks } = await makeIntake();
    const first = await runbooks.create(disk(), { actor: admin });
    const again = await runbooks.create(disk(), { actor: admin });
    expect(again.created).toBe(false);
    expect(again.runbook.id).toBe(first.runbook.id);
    const second = await runbooks.create(disk("auto_execute: false\n"), { actor: admin });
    expect(second.runbook).toMatchObject({ key: "disk-cleanup", revision: 2 });
  });

  it("honours front matter status only when the caller allows it", async () => {
    const { runbooks } = await makeIntake();
    const md = disk("status: approved\n");
    expect((await runbooks.create(md, { actor: admin })).runbook.status).toBe("draft");
    const { runbooks: trusted } = await makeIntake();
    expect((await trusted.create(md, { actor: admin, useFrontMatterStatus: true })).runbook.status).toBe(
      "approved",
    );
  });

  it("refuses an approved upload when the actor may not approve", async () => {
    const { runbooks } = await makeIntake();
    expect(await codeOf(runbooks.create(disk(), { actor: operator, status: "approved" }))).toBe(
      "RW_ERR_APPROVAL_FORBIDDEN",
    );
  });

  it("approves a draft and retires the older approved revision when a new one is approved", async () => {
    const { runbooks, ctx } = await makeIntake();
    const retired: unknown[] = [];
    ctx.events.on("runbook:retired", (e) => retired.push(e));
    const r1 = (await runbooks.create(disk(), { actor: admin, status: "approved" })).runbook;
    const r2 = (await runbooks.create(disk("auto_execute: true\n"), { actor: admin })).runbook;
    const approved = await runbooks.approve(r2.id, { actor: admin });
    expect(approved).toMatchObject({ status: "approved", approvedBy: "alice" });
    expect((await runbooks.get(r1.id)).status).toBe("retired");
    expect(retired).toEqual([{ runbookId: r1.id, key: "disk-cleanup", actor: "alice" }]);
  });

  it("throws RW_ERR_RUNBOOK_LIFECYCLE when the transition is not allowed", async () => {
    const { runbooks } = await makeIntake();
    const { runbook } = await runbooks.create(disk(), { actor: admin });
    await runbooks.approve(runbook.id, { actor: admin });
    expect(await codeOf(runbooks.approve(runbook.id, { actor: admin }))).toBe("RW_ERR_RUNBOOK_LIFECYCLE");
    await runbooks.retire(runbook.id, { actor: operator });
    expect(await codeOf(runbooks.approve(runbook.id, { actor: admin }))).toBe("RW_ERR_RUNBOOK_LIFECYCLE");
    expect(await codeOf(runbooks.retire(runbook.id, { actor: admin }))).toBe("RW_ERR_RUNBOOK_LIFECYCLE");
    expect(await codeOf(runbooks.approve(999, { actor: admin }))).toBe("RW_ERR_STORAGE_NOT_FOUND");
  });

  it("refuses to approve an older revision when a newer one is approved", async () => {
    const { runbooks } = await makeIntake();
    const r1 = (await runbooks.create(disk(), { actor: admin })).runbook;
    await runbooks.create(disk("auto_execute: false\n"), { actor: admin, status: "approved" });
    expect(await codeOf(runbooks.approve(r1.id, { actor: admin }))).toBe("RW_ERR_RUNBOOK_LIFECYCLE");
  });

  it("lists newest first with a cursor when there are more pages", async () => {
    const { runbooks } = await makeIntake();
    await loadSampleRunbooks(runbooks);
    const total = (await runbooks.list({ limit: 200 })).items.length;
    // Two pages of 4 at most, then the rest (the sample library has more than 8 runbooks).
    expect(total).toBeGreaterThan(8);
    const page1 = await runbooks.list({ limit: 4 });
    expect(page1.items).toHaveLength(4);
    expect(page1.items[0]!.id).toBeGreaterThan(page1.items[1]!.id);
    const page2 = await runbooks.list({ limit: 4, cursor: page1.nextCursor! });
    expect(page2.items).toHaveLength(4);
    expect(page2.items[0]!.id).toBeLessThan(page1.items[3]!.id);
    const rest = await runbooks.list({ limit: 200, cursor: page2.nextCursor! });
    expect(rest.items).toHaveLength(total - 8);
    expect(rest.nextCursor).toBeNull();
    expect((await runbooks.list({ status: "approved" })).items.every((r) => r.status === "approved")).toBe(
      true,
    );
  });

  it("returns the cached plan without parsing again when asked twice", async () => {
    const { runbooks } = await makeIntake();
    const { runbook, plan } = await runbooks.create(disk(), { actor: admin });
    expect(runbooks.plan(runbook)).toBe(plan);
    expect(runbooks.plan({ ...runbook })).toBe(plan);
  });

  it("matches only the current revision per key, and nothing retired, when ranking", async () => {
    const { runbooks } = await makeIntake();
    const query = {
      title: "Disk full on web-01",
      description: "",
      service: "nginx",
      environment: "prod",
      severity: "high" as const,
      source: "x",
    };
    const r1 = (await runbooks.create(disk(), { actor: admin, status: "approved" })).runbook;
    expect((await runbooks.match(query)).map((m) => m.candidate.runbookId)).toEqual([r1.id]);
    await runbooks.create(disk("auto_execute: false\n"), { actor: admin });
    expect((await runbooks.match(query)).map((m) => m.candidate.runbookId)).toEqual([r1.id]);
    await runbooks.retire(r1.id, { actor: admin });
    const after = await runbooks.match(query);
    expect(after.map((m) => m.candidate)).toMatchObject([
      { runbookKey: "disk-cleanup", runbookVersion: 2, status: "draft" },
    ]);
  });

  it("builds the index from the store when a new API starts over an existing store", async () => {
    const first = await makeIntake();
    await loadSampleRunbooks(first.runbooks);
    const second = await makeIntake({ storage: first.ctx.storage });
    const matches = await second.runbooks.match({
      title: "Disk full on build agent",
      description: "No space left on device (ENOSPC)",
      service: "ci",
      environment: "dev",
      severity: "high",
      source: "datadog",
    });
    expect(matches[0]?.candidate.runbookKey).toBe("disk-space-cleanup");
  });

  it("refuses a runbook whose expect pattern can backtrack catastrophically, even one stored before the rule existed", async () => {
    const { runbooks, ctx } = await makeIntake();
    const markdown = disk().replace("(severity: safe)", "(severity: safe, expect: /(a+)+$/)");
    expect(await codeOf(runbooks.create(markdown, { actor: admin }))).toBe("RW_ERR_RUNBOOK_INVALID");
    // Written straight to the store, as an older version would have accepted it.
    const now = new Date(0).toISOString();
    const stored = await ctx.storage.runbooks.insert({
      key: "disk-cleanup",
      revision: 1,
      title: "Disk Cleanup",
      status: "approved",
      markdown,
      hash: hashRunbook(markdown),
      createdAt: now,
      updatedAt: now,
      createdBy: admin.id,
      approvedBy: admin.id,
    });
    let refused: unknown;
    try {
      runbooks.plan(stored);
    } catch (err) {
      refused = err;
    }
    expect(refused).toMatchObject({
      code: "RW_ERR_RUNBOOK_INVALID",
      details: { diagnostics: [expect.objectContaining({ ruleId: "runbook/unsafe-regex" })] },
    });
    const query = {
      title: "Disk full on web-01",
      description: "disk full",
      service: "nginx",
      environment: "prod",
      severity: "high" as const,
      source: "x",
    };
    expect(await runbooks.match(query)).toEqual([]);
  });
});
