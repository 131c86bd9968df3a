import { didYouMean, oneOf } from "../internal/suggest.js";
import { failureActions } from "../schema.js";
import { defineAnnotation } from "./types.js";
import { parseEnum } from "./values.js";

/** `on_failure: rollback`: what the session does when the step fails (abort, continue, rollback). */
export default defineAnnotation({
  key: "on_failure",
  read(value, into) {
    const action = parseEnum(value, failureActions);
    if (action !== undefined) {
      into.onFailure = action;
      return undefined;
    }
    return `expected ${oneOf(failureActions)}${typeof value === "string" ? didYouMean(value.trim().toLowerCase(), failureActions) : ""}`;
  },
});
