import { describe, expect, it } from "vitest";
import { parseRunbook } from "../src/parse.js";
import { RunbookSchema, StepSchema } from "../src/schema.js";

const runbook = parseRunbook("# T\n\n## Main Steps\n- `a` (name: x)\n- `b`\n").runbook!;

describe("RunbookSchema", () => {
  it("accepts what parseRunbook returns", () => {
    expect(RunbookSchema.parse(runbook)).toEqual(runbook);
  });

  it("rejects duplicate step names, an empty main phase and a note heading that names a phase", () => {
    const duplicate = structuredClone(runbook);
    duplicate.phases.main[1]!.name = "x";
    expect(RunbookSchema.safeParse(duplicate).error?.issues[0]?.message).toBe('duplicate step name "x"');
    const empty = structuredClone(runbook);
    empty.phases.main = [];
    expect(RunbookSchema.safeParse(empty).success).toBe(false);
    const note = { ...structuredClone(runbook), notes: [{ heading: "Rollback", text: "" }] };
    expect(RunbookSchema.safeParse(note).success).toBe(false);
  });
});

describe("StepSchema", () => {
  it("rejects a high_risk step that does not require approval and a non-executable language", () => {
    const step = runbook.phases.main[0]!;
    expect(StepSchema.safeParse({ ...step, severity: "high_risk", requiresApproval: false }).success).toBe(
      false,
    );
    expect(StepSchema.safeParse({ ...step, language: "text" }).success).toBe(false);
    expect(StepSchema.safeParse({ ...step, language: "bash" }).success).toBe(false);
  });
});
