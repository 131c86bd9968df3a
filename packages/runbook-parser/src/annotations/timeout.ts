import { defineAnnotation } from "./types.js";
import { parseDuration } from "./values.js";

/** `timeout: 30s`: the step is killed when it runs longer. */
export default defineAnnotation({
  key: "timeout",
  read(value, into) {
    const ms = parseDuration(value);
    if (ms === undefined)
      return "expected a duration such as 30s, 5m, 1500ms or 30 (seconds), at most 24 days";
    into.timeoutMs = ms;
    return undefined;
  },
});
