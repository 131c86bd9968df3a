import { defineAnnotation } from "./types.js";
import { parseBoolean } from "./values.js";

/** `requires_approval: true`: a person must approve the step before it runs. */
export default defineAnnotation({
  key: "requires_approval",
  aliases: ["approval_required"],
  read(value, into) {
    const flag = parseBoolean(value);
    if (flag === undefined) return "expected true or false";
    into.requiresApproval = flag;
    return undefined;
  },
});
