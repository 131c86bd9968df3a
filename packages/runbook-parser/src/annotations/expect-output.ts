import { defineAnnotation } from "./types.js";
import { isValidRegex } from "./values.js";

/**
 * `expect_output: "status=ok"`: a regular expression the step's output must match (also checked
 * by the `runbook/unsafe-regex` rule).
 */
export default defineAnnotation({
  key: "expect_output",
  conflicts: ["expect"],
  read(value, into) {
    if (typeof value !== "string" || value.length === 0 || !isValidRegex(value))
      return "expected a regular expression the output must match";
    into.expect = { ...into.expect, output: value };
    return undefined;
  },
});
