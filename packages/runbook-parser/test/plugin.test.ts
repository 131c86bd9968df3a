import { remark } from "remark";
import remarkFrontmatter from "remark-frontmatter";
import { describe, expect, it } from "vitest";
import { remarkRunbook } from "../src/plugin.js";

describe("remarkRunbook", () => {
  it("attaches the runbook to file.data when the document is valid", async () => {
    const file = await remark()
      .use(remarkRunbook)
      .process("---\nid: fix-db\n---\n# Fix DB\n\n## Main Steps\n- `restart.sh` (severity: high_risk)\n");
    expect(file.data.runbook?.metadata.id).toBe("fix-db");
    expect(file.data.runbook?.phases.main[0]?.requiresApproval).toBe(true);
    expect(file.messages).toEqual([]);
  });

  it("reports diagnostics as vfile messages with place and ruleId when the document has problems", async () => {
    const file = await remark()
      .use(remarkFrontmatter, ["yaml"])
      .use(remarkRunbook)
      .process("\uFEFF# T\r\n\r\n## Precheks\r\n\r\n## Main Steps\r\n- `a` (severity: extreme)\r\n");
    expect(file.data.runbook).toBeUndefined();
    expect(file.data.runbookDiagnostics).toHaveLength(2);
    expect(
      file.messages.map((m) => [
        m.ruleId,
        m.source,
        m.fatal,
        m.place && "start" in m.place ? m.place.start.line : 0,
      ]),
    ).toEqual([
      ["runbook/unknown-section", "runwarden", false, 3],
      ["runbook/invalid-value", "runwarden", true, 6],
    ]);
  });

  it("throws a message naming the fix when given options that are not an object", () => {
    expect(() =>
      remark()
        .use(remarkRunbook, "strict" as never)
        .freeze(),
    ).toThrow(/options must be an object/);
  });
});
