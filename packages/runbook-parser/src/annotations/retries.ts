import { defineAnnotation } from "./types.js";
import { parseInteger } from "./values.js";

/** `retries: 2`: how many more times a failing step is tried. */
export default defineAnnotation({
  key: "retries",
  aliases: ["retry"],
  read(value, into) {
    const retries = parseInteger(value, 0, 100);
    if (retries === undefined) return "expected a whole number from 0 to 100";
    into.retries = retries;
    return undefined;
  },
});
