import { describe, expect, it } from "vitest";
import { classifyHeading, nearestPhase } from "../src/sections.js";

describe("classifyHeading", () => {
  it("names the phase when given a synonym in any case or punctuation", () => {
    expect(classifyHeading("Pre-Checks")).toBe("prechecks");
    expect(classifyHeading("PRE-FLIGHT CHECKS")).toBe("prechecks");
    expect(classifyHeading("1. Remediation steps")).toBe("main");
    expect(classifyHeading("Post-checks")).toBe("postchecks");
    expect(classifyHeading("Verification")).toBe("postchecks");
    expect(classifyHeading("Rollback plan")).toBe("rollback");
  });

  it("returns undefined when the heading names no phase", () => {
    expect(classifyHeading("Escalation")).toBeUndefined();
    expect(classifyHeading("Notes")).toBeUndefined();
  });
});

describe("nearestPhase", () => {
  it("suggests the phase when given a likely typo, and nothing for other words", () => {
    expect(nearestPhase("Precheks")?.heading).toBe("Prechecks");
    expect(nearestPhase("Rollbak")?.phase).toBe("rollback");
    expect(nearestPhase("Verificaton steps")?.phase).toBe("postchecks");
    for (const heading of ["Notes", "Context", "Impact", "Contacts", "Escalation", "Summary"]) {
      expect(nearestPhase(heading)).toBeUndefined();
    }
  });
});
