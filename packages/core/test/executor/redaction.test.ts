import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Redactor } from "../../src/executor/redaction.js";

describe("Redactor", () => {
  it("replaces every occurrence of every secret, longest first", () => {
    const r = new Redactor();
    r.add(["hunter2", "hunter2-extended", ""]);
    expect(r.redact("pw=hunter2-extended; again hunter2 and hunter2")).toBe("pw=***; again *** and ***");
  });

  it("catches a secret split across stream chunks", () => {
    const r = new Redactor();
    r.add(["s3cr3t-value"]);
    const stream = r.stream();
    const out = ["login s3c", "r3t-v", "alue ok"].map((c) => stream.push(c)).join("") + stream.flush();
    expect(out).toBe("login *** ok");
  });

  it("never lets a secret through however the output is chunked (property)", () => {
    fc.assert(
      fc.property(
        fc
          .string({ minLength: 3, maxLength: 12 })
          .filter((s) => s.trim().length === s.length && s.length >= 3),
        fc.array(fc.string({ maxLength: 8 }), { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }),
        (secret, fillers, cuts) => {
          const text = fillers.join(secret);
          const r = new Redactor();
          r.add([secret]);
          const stream = r.stream();
          let out = "";
          let at = 0;
          for (let i = 0; at < text.length; i++) {
            const size = cuts[i % cuts.length]!;
            out += stream.push(text.slice(at, at + size));
            at += size;
          }
          out += stream.flush();
          expect(out).toBe(r.redact(text));
        },
      ),
      { numRuns: 300 },
    );
  });
});
