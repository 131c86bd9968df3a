import { defineAnnotation } from "./types.js";

/**
 * `compensate: "systemctl start {{ ticket.service }}"`: the command that undoes the step when the
 * session rolls back. Its templates are checked by the template rules.
 */
export default defineAnnotation({
  key: "compensate",
  aliases: ["compensation", "undo"],
  read(value, into) {
    if (typeof value !== "string" || value.trim().length === 0)
      return 'expected the command that undoes this step, such as compensate: "systemctl start {{ ticket.service }}"';
    into.compensate = value.trim();
    return undefined;
  },
});
