import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseSimpleYaml } from "../src/internal/simple-yaml.js";

const scalar = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9 ._-]{0,10}$/),
  fc.constantFrom(
    "true",
    "False",
    "null",
    "~",
    "12",
    "-3",
    "1.5",
    "1e3",
    "0x1F",
    ".inf",
    "yes",
    "10m",
    "'it''s'",
    '"q d"',
    "a: b",
    "#c",
  ),
);
const entry = fc.tuple(
  fc.stringMatching(/^[a-z][a-z_]{0,6}$/),
  fc.oneof(
    scalar,
    fc.array(scalar, { maxLength: 3 }).map((items) => `[${items.join(", ")}]`),
    fc
      .array(scalar, { minLength: 1, maxLength: 3 })
      .map((items) => `\n${items.map((i) => `  - ${i}`).join("\n")}`),
    fc
      .array(fc.tuple(fc.stringMatching(/^[a-z]{1,5}$/), scalar), { minLength: 1, maxLength: 3 })
      .map((pairs) => `\n${pairs.map(([k, v]) => `  ${k}: ${v}`).join("\n")}`),
  ),
);

describe("parseSimpleYaml", () => {
  it("agrees with the yaml library whenever it accepts the text", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 6 }), (entries) => {
        const text = entries.map(([k, v]) => (v.startsWith("\n") ? `${k}:${v}` : `${k}: ${v}`)).join("\n");
        const fast = parseSimpleYaml(text);
        if (fast === undefined) return;
        let expected: unknown;
        try {
          expected = parse(text, { uniqueKeys: true });
        } catch {
          throw new Error(`accepted text the yaml library rejects:\n${text}`);
        }
        expect(fast).toEqual(expected ?? null);
      }),
      { numRuns: 2000 },
    );
  });

  it("leaves anchors, block scalars, tabs and comments after values to the full parser", () => {
    for (const text of ["a: &x 1", "a: |\n  b", "a:\t1", "a: 1 # c", "a: *x", "a: [b, [c]]", "a: 1\na: 2"]) {
      expect(parseSimpleYaml(text)).toBeUndefined();
    }
  });
});
