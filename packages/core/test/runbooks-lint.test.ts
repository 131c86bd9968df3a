import { describe, expect, it } from "vitest";
import { makeIntake } from "./support/engine-context.js";

const valid = `---
id: disk-cleanup
---
# Disk Cleanup

## Main Steps
- \`df -h /\` (severity: safe)
`;

const broken = `# Broken

## Main Steps
- \`rm -rf /tmp/x\` (severity: catastrophic)
`;

describe("runbooks.lint", () => {
  it("answers the plan and the key a valid runbook would be stored under, storing nothing", async () => {
    const { runbooks, audit, ctx } = await makeIntake();
    const events: unknown[] = [];
    ctx.events.on("runbook:created", (e) => events.push(e));
    const result = await runbooks.lint(valid);
    expect(result.key).toBe("disk-cleanup");
    expect(result.plan?.phases.main[0]?.command).toBe("df -h /");
    expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect((await runbooks.list()).items).toEqual([]);
    expect(events).toEqual([]);
    expect(audit.entries).toEqual([]);
  });

  it("answers every diagnostic with its line and column, and no plan, for a runbook with errors", async () => {
    const { runbooks } = await makeIntake();
    const result = await runbooks.lint(broken);
    expect(result.plan).toBeNull();
    expect(result.key).toBeNull();
    expect(result.diagnostics).toContainEqual(
      expect.objectContaining({ severity: "error", line: 4, column: expect.any(Number) }),
    );
    expect((await runbooks.list()).items).toEqual([]);
  });

  it("refuses what is not text with RW_ERR_INPUT_INVALID", async () => {
    const { runbooks } = await makeIntake();
    await expect(runbooks.lint(42 as unknown as string)).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
  });
});
