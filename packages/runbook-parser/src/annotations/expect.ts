import { normalizeKey } from "../internal/keys.js";
import type { Expect } from "../schema.js";
import { defineAnnotation } from "./types.js";
import { isValidRegex, parseInteger } from "./values.js";

/**
 * `expect: 0` (exit code), `expect: /ok/` (output pattern), or JSON `{"exit_code": 0, "output": "ok"}`:
 * what the step must produce to succeed. The output pattern is also checked by the
 * `runbook/unsafe-regex` rule.
 */
export default defineAnnotation({
  key: "expect",
  conflicts: ["expect_exit_code", "expect_output"],
  read(value, into) {
    const expect = parseExpect(value);
    if (typeof expect === "string") return expect;
    into.expect = expect;
    return undefined;
  },
});

function parseExpect(value: unknown): Expect | string {
  const usage =
    "expected an exit code (expect: 0), an output pattern (expect: /ready/), or both as expect_exit_code and expect_output";
  if (typeof value === "number" || (typeof value === "string" && /^\s*\d+\s*$/.test(value))) {
    const code = parseInteger(value, 0, 255);
    return code === undefined ? "expected an exit code from 0 to 255" : { exitCode: code };
  }
  if (typeof value === "string") {
    const text = value.trim();
    const source = text.length >= 2 && text.startsWith("/") && text.endsWith("/") ? text.slice(1, -1) : text;
    if (source.length === 0) return usage;
    return isValidRegex(source) ? { output: source } : `"${source}" is not a valid regular expression`;
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const expect: Expect = {};
    for (const [k, v] of Object.entries(value)) {
      const key = normalizeKey(k);
      if (key === "exit_code") {
        const code = parseInteger(v, 0, 255);
        if (code === undefined) return "expected exit_code to be a number from 0 to 255";
        expect.exitCode = code;
      } else if (key === "output") {
        if (typeof v !== "string" || v.length === 0 || !isValidRegex(v))
          return "expected output to be a regular expression";
        expect.output = v;
      } else {
        return `unknown field "${k}" in expect: use exit_code and output`;
      }
    }
    return expect;
  }
  return usage;
}
