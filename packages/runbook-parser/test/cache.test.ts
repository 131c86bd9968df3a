import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createRunbookCache, hashRunbook } from "../src/cache.js";

const markdown = "# T\n\n## Main Steps\n- `a`\n";

describe("hashRunbook", () => {
  it("returns the sha256 of the UTF-8 text in hex", () => {
    expect(hashRunbook("é")).toBe(createHash("sha256").update(Buffer.from("é", "utf8")).digest("hex"));
  });
});

describe("createRunbookCache", () => {
  it("parses once and returns the same frozen result when given the same text again", () => {
    const cache = createRunbookCache();
    const first = cache.parse(markdown);
    expect(cache.parse(markdown)).toBe(first);
    expect(cache.get(hashRunbook(markdown))).toBe(first);
    expect(cache.has(hashRunbook(markdown))).toBe(true);
    expect(Object.isFrozen(first.runbook!.phases.main[0])).toBe(true);
    expect(cache.size).toBe(1);
  });

  it("keys strict parses apart when warningsAsErrors is set", () => {
    const cache = createRunbookCache();
    const text = "# T\n\n## Precheks\n\n## Main Steps\n- `a`\n";
    expect(cache.parse(text).runbook).toBeDefined();
    expect(cache.parse(text, { warningsAsErrors: true }).runbook).toBeUndefined();
    expect(cache.size).toBe(2);
    cache.delete(hashRunbook(text));
    expect(cache.size).toBe(0);
  });

  it("evicts the least recently used plan when full", () => {
    const cache = createRunbookCache({ maxEntries: 2 });
    const texts = ["a", "b", "c"].map((c) => `# ${c}\n\n## Main Steps\n- \`${c}\`\n`);
    cache.parse(texts[0]!);
    cache.parse(texts[1]!);
    cache.parse(texts[0]!);
    cache.parse(texts[2]!);
    expect(cache.has(hashRunbook(texts[0]!))).toBe(true);
    expect(cache.has(hashRunbook(texts[1]!))).toBe(false);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it("throws when maxEntries is not a positive whole number", () => {
    expect(() => createRunbookCache({ maxEntries: 0 })).toThrow(RangeError);
  });
});
