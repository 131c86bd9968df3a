import { describe, expect, it } from "vitest";
import { CappedText } from "../../src/executor/output.js";

describe("CappedText", () => {
  it("keeps everything under the cap", () => {
    const t = new CappedText(100);
    t.append("hello ");
    t.append("world");
    expect(t.toString()).toBe("hello world");
    expect(t.truncated).toBe(false);
  });

  it("keeps the head and the tail of a long stream and counts what it dropped", () => {
    const t = new CappedText(20);
    for (let i = 0; i < 1000; i++) t.append(`${i % 10}`);
    expect(t.truncated).toBe(true);
    expect(t.omittedChars).toBe(980);
    expect(t.toString()).toBe("0123456789\n…[980 characters omitted]…\n0123456789");
  });
});
