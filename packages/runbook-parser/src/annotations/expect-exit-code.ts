import { defineAnnotation } from "./types.js";
import { parseInteger } from "./values.js";

/** `expect_exit_code: 3`: the exit code the step must end with (default 0). */
export default defineAnnotation({
  key: "expect_exit_code",
  aliases: ["exit_code", "expect_exitcode"],
  conflicts: ["expect"],
  read(value, into) {
    const code = parseInteger(value, 0, 255);
    if (code === undefined) return "expected an exit code from 0 to 255";
    into.expect = { ...into.expect, exitCode: code };
    return undefined;
  },
});
