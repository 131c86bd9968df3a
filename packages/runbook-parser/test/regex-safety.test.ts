import { describe, expect, it } from "vitest";
import { regexHazard } from "../src/internal/regex-safety.js";

describe("regexHazard", () => {
  it.each([
    ["(a+)+$", "nested repeats"],
    ["(.*a){20}", "a counted group around an unbounded repeat that can match what follows it"],
    ["(a|aa)+", "alternatives that can match the same text"],
    ["^(a|a)*$", "identical alternatives"],
    ["(\\w+\\s?)+$", "an optional separator"],
    ["(\\s*,\\s*)*$", "separators whose spaces split between repetitions"],
    ["(a*)*", "a repeated group that can match empty text"],
    ["a*a*a*$", "adjacent repeats of the same characters"],
    ["\\w+\\s*\\w+", "adjacent repeats with only an optional part between"],
    ["(?:[a-z]+[0-9]*)+", "a non-capturing group"],
  ])("flags %s (%s)", (source) => {
    const hazard = regexHazard(source);
    expect(hazard).toBeDefined();
    expect(hazard!.message).toMatch(/write ".+" rather than ".+"/);
  });

  it.each([
    "^active$",
    "error|failed",
    "ready\\s+ok",
    "\\d+ rows?",
    ".*error.*",
    "^(\\d{1,3}\\.){3}\\d{1,3}$",
    "^[a-z]+(-[a-z]+)*$",
    "^(\\S+\\s+)*$",
    "([^,]*,){3}",
    "status: (running|ok)",
    "[Dd]isk|[Vv]olume",
    "\\[(ok|fail)\\]",
  ])("does not flag %s", (source) => {
    expect(regexHazard(source)).toBeUndefined();
  });

  it("flags only patterns that really backtrack: each flagged one is slow on text that almost matches", () => {
    // 22 characters is enough for (a+)+$ to take far longer than a linear pattern; the clean
    // patterns above stay fast on the same kind of text.
    const slow = (re: RegExp, text: string) => {
      const t0 = performance.now();
      re.test(text);
      return performance.now() - t0;
    };
    expect(slow(/(a+)+$/, `${"a".repeat(22)}!`)).toBeGreaterThan(5);
    expect(slow(/^[a-z]+(-[a-z]+)*$/, `${"a-".repeat(5000)}!`)).toBeLessThan(200);
  });
});
