/** contract/secret-leak. */
import { errorText } from "../capture.js";
import type { Harness } from "../harness.js";
import { violation } from "../violation.js";

/**
 * contract/secret-leak: no secret shows in any error message, `details` or `toJSON()` the checks
 * caught, in any description or health result, or in any line logged through the connector's logger.
 */
export function checkSecretHygiene(h: Harness, secrets: Iterable<string>): void {
  const values = [...new Set([...h.secrets, ...secrets])].filter((value) => value.length >= 4);
  if (values.length === 0)
    violation("contract/secret-leak", "no secret to look for: give options.secrets or a credential");
  const haystacks = [...h.errors.map(errorText), ...h.texts, ...h.logs];
  for (const value of values)
    for (const text of haystacks)
      if (text.includes(value))
        violation(
          "contract/secret-leak",
          `a secret leaked into: ${text.split(value).join("<secret>").slice(0, 300)}`,
        );
}
