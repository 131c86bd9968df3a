import { describe, expect, it } from "vitest";
import { isRunbookInvalidError, RunbookInvalidError } from "../src/errors.js";

const diagnostic = {
  severity: "error" as const,
  ruleId: "runbook/missing-main",
  message: "no main",
  line: 1,
  column: 1,
};

describe("RunbookInvalidError", () => {
  it("carries the code, the diagnostics and the runwarden brand", () => {
    const error = new RunbookInvalidError([diagnostic]);
    expect(error.code).toBe("RW_ERR_RUNBOOK_INVALID");
    expect(error.details.diagnostics).toEqual([diagnostic]);
    expect((error as unknown as Record<symbol, unknown>)[Symbol.for("runwarden.error")]).toBe(true);
    expect(error.message).toBe("runbook is invalid (1 error):\n  1:1 runbook/missing-main no main");
  });
});

describe("isRunbookInvalidError", () => {
  it("recognises an error from another copy of the library by brand and code", () => {
    const foreign = Object.assign(new Error("x"), {
      code: "RW_ERR_RUNBOOK_INVALID",
      [Symbol.for("runwarden.error")]: true,
    });
    expect(isRunbookInvalidError(foreign)).toBe(true);
    expect(isRunbookInvalidError(new Error("x"))).toBe(false);
    expect(isRunbookInvalidError(null)).toBe(false);
  });
});
