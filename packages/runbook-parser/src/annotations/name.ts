import { defineAnnotation } from "./types.js";
import { parseName } from "./values.js";

/** `name: restart-db`: the step's name, unique within the runbook (else derived from the command). */
export default defineAnnotation({
  key: "name",
  read(value, into) {
    const name = parseName(value);
    if (name === undefined) return "expected a non-empty step name";
    into.name = name;
    return undefined;
  },
});
