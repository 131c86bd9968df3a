import { describe, expect, it } from "vitest";
import {
  formatDuration,
  interpretAnnotations,
  looksLikeAnnotations,
  normalizeLanguage,
  parseDuration,
  readAnnotationList,
} from "../src/annotations.js";

describe("parseDuration", () => {
  it("reads units, compound durations and bare seconds", () => {
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("5m")).toBe(300_000);
    expect(parseDuration("1500ms")).toBe(1500);
    expect(parseDuration("30")).toBe(30_000);
    expect(parseDuration(2.5)).toBe(2500);
    expect(parseDuration("1h30m")).toBe(5_400_000);
  });

  it("returns undefined when given something that is not a positive duration", () => {
    for (const bad of ["soon", "", "0", "-5s", "5 parsecs", "0.5ms", "30d", "999999999s", null, true]) {
      expect(parseDuration(bad)).toBeUndefined();
    }
  });
});

describe("formatDuration", () => {
  it("writes the largest exact unit and round-trips through parseDuration", () => {
    expect([3_600_000, 120_000, 90_000, 1500].map(formatDuration)).toEqual(["1h", "2m", "90s", "1500ms"]);
    for (const ms of [1, 999, 1000, 61_000, 7_200_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});

describe("readAnnotationList", () => {
  it("reads quoted values, bare flags and source offsets when given the list form", () => {
    const { annotations, errors } = readAnnotationList('a: 1, b = "x, (y)", flag', 10, "list");
    expect(errors).toEqual([]);
    expect(annotations.map((a) => [a.key, a.value, a.keyStart, a.valueStart])).toEqual([
      ["a", "1", 10, 13],
      ["b", "x, (y)", 16, 20],
      ["flag", true, 30, 30],
    ]);
  });

  it("splits on spaces when given the fence form", () => {
    const { annotations } = readAnnotationList("requires_approval=true timeout=30s name='a b'", 0, "fence");
    expect(annotations.map((a) => [a.key, a.value])).toEqual([
      ["requires_approval", "true"],
      ["timeout", "30s"],
      ["name", "a b"],
    ]);
  });

  it("reports an unclosed quote", () => {
    expect(readAnnotationList('name="a', 0, "fence").errors).toHaveLength(1);
  });
});

describe("interpretAnnotations", () => {
  it("reads expect as an exit code or an output pattern", () => {
    const read = (value: unknown) =>
      interpretAnnotations([{ key: "expect", value, keyStart: 0, keyEnd: 0, valueStart: 0, valueEnd: 0 }])
        .values.expect;
    expect(read("0")).toEqual({ exitCode: 0 });
    expect(read("/ready\\s+ok/")).toEqual({ output: "ready\\s+ok" });
    expect(read({ exit_code: 2, output: "x" })).toEqual({ exitCode: 2, output: "x" });
  });

  it("reports a key named like an object property (constructor) as an unknown annotation", () => {
    const { problems, values } = interpretAnnotations([
      { key: "constructor", value: "1", keyStart: 3, keyEnd: 14, valueStart: 16, valueEnd: 17 },
    ]);
    expect(problems).toEqual([expect.objectContaining({ ruleId: "runbook/unknown-annotation", start: 3 })]);
    expect(values).toEqual({});
  });

  it("reports a bad regular expression as an invalid value", () => {
    const { problems } = interpretAnnotations([
      { key: "expect_output", value: "([", keyStart: 0, keyEnd: 0, valueStart: 5, valueEnd: 7 },
    ]);
    expect(problems).toEqual([expect.objectContaining({ ruleId: "runbook/invalid-value", start: 5 })]);
  });
});

describe("looksLikeAnnotations", () => {
  it("tells annotation lists from prose", () => {
    expect(looksLikeAnnotations("severity: high_risk")).toBe(true);
    expect(looksLikeAnnotations("idempotnt")).toBe(true);
    expect(looksLikeAnnotations("run twice if needed")).toBe(false);
  });
});

describe("normalizeLanguage", () => {
  it("maps aliases to one spelling", () => {
    expect(["bash", "Shell", "pwsh", "PostgreSQL", "ruby"].map(normalizeLanguage)).toEqual([
      "sh",
      "sh",
      "powershell",
      "sql",
      "ruby",
    ]);
  });
});
