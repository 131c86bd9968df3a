import { didYouMean, oneOf } from "../internal/suggest.js";
import { stepSeverities } from "../schema.js";
import { defineAnnotation } from "./types.js";
import { parseEnum } from "./values.js";

/** `severity: high_risk`: how risky the step is (high_risk steps always require approval). */
export default defineAnnotation({
  key: "severity",
  aliases: ["risk"],
  read(value, into) {
    const severity = parseEnum(value, stepSeverities);
    if (severity !== undefined) {
      into.severity = severity;
      return undefined;
    }
    const written =
      typeof value === "string"
        ? value
            .trim()
            .toLowerCase()
            .replace(/[-\s]+/g, "_")
        : undefined;
    return `expected ${oneOf(stepSeverities)}${written === undefined ? "" : didYouMean(written, stepSeverities)}`;
  },
});
