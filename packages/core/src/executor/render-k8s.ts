/**
 * Rendering a Kubernetes step's templates (```` ```k8s ```` fences: YAML `key: value` fields read by
 * the kubernetes connector). A value may only be the whole value of a top-level `key: value` line,
 * and it is written as a YAML double-quoted scalar (JSON string escaping), so it is always one
 * string field: it cannot add a key, a list item, a flow collection or a comment. The connector then
 * checks each field's type (a name must be an RFC 1123 name; an exec `command` must be a list, so
 * no template can reach it). Anywhere else a reference is refused with RW_ERR_EXEC_TEMPLATE.
 */
import type { tokenizeTemplate } from "@runwarden/runbook-parser";
import { rwError } from "../errors.js";

type Token = ReturnType<typeof tokenizeTemplate>["tokens"][number];

/** What may stand before a reference on its line: a top-level key and its colon. */
const keyBefore = /^[A-Za-z_][A-Za-z0-9_-]*:[ \t]*$/;

/** Renders a k8s step; throws RW_ERR_EXEC_TEMPLATE for a reference that is not a whole field value. */
export function renderK8s(tokens: readonly Token[], values: readonly string[], language = "k8s"): string {
  let out = "";
  tokens.forEach((token, index) => {
    if (token.type === "text") {
      out += token.value;
      return;
    }
    const lineStart = out.lastIndexOf("\n") + 1;
    const before = out.slice(lineStart);
    const next = tokens[index + 1];
    const after = next?.type === "text" ? next.value.split("\n", 1)[0]! : next ? "x" : "";
    if (!keyBefore.test(before) || after.trim() !== "") {
      throw rwError(
        "RW_ERR_EXEC_TEMPLATE",
        `{{${token.name}}} must be the whole value of a top-level field (\`name: {{${token.name}}}\`) in a ${language} step`,
        { details: { reference: token.name, reason: "context" } },
      );
    }
    out += JSON.stringify(values[index]!);
  });
  return out;
}
