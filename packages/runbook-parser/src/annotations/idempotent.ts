import { defineAnnotation } from "./types.js";
import { parseBoolean } from "./values.js";

/** `idempotent: true`: running the step twice is safe, so a step interrupted by a crash is run again. */
export default defineAnnotation({
  key: "idempotent",
  read(value, into) {
    const flag = parseBoolean(value);
    if (flag === undefined) return "expected true or false";
    into.idempotent = flag;
    return undefined;
  },
});
