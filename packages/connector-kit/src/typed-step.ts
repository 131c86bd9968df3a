/**
 * Typed step fences (```` ```aws ````, ```` ```k8s ````, …): a step is YAML fields, one action per
 * step, each field typed by the connector's zod schema. A ticket value reaches such a step only
 * through core's renderer (one quoted string as a whole field value), so it must then pass the
 * field's type: it can never become a second field, a list or a command.
 */
import { rwError } from "@runwarden/core";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/** What {@link parseTypedStep} needs to know of a connector's step fence. */
export interface TypedStepOptions<Schema extends z.ZodType> {
  /** The fence's language as messages name it: `aws` gives "invalid aws step: …". */
  fence: string;
  /** The step's fields: usually a discriminated union on `action` of strict objects. */
  schema: Schema;
  /** The `action` values; when given, a missing or unknown action is refused first, naming them. */
  actions?: readonly string[];
  /** Example fields for the message when the text is not YAML fields, e.g. "`action: reboot`". */
  example?: string;
}

function invalid(fence: string, message: string, details: Record<string, unknown> = {}): never {
  throw rwError("RW_ERR_CONNECTOR_REJECTED", `invalid ${fence} step: ${message}`, {
    details: { reason: "step", ...details },
  });
}

/**
 * Parses a typed step's text with the fence's schema. The YAML is read strictly (core schema,
 * duplicate keys and aliases refused). Throws RW_ERR_CONNECTOR_REJECTED with `details.reason`
 * "step" and, where one field is wrong, `details.field` naming it (an unknown field by its name).
 */
export function parseTypedStep<Schema extends z.ZodType>(
  text: string,
  options: TypedStepOptions<Schema>,
): z.output<Schema> {
  const { fence, schema, actions } = options;
  let data: unknown;
  try {
    data = parseYaml(text, { schema: "core", uniqueKeys: true, maxAliasCount: 0 });
  } catch (error) {
    invalid(fence, `not YAML (${(error as Error).message.split("\n", 1)[0]})`);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data))
    invalid(fence, `expected fields such as ${options.example ?? "`action: …`"}`);
  const action = (data as { action?: unknown }).action;
  if (actions && (typeof action !== "string" || !actions.includes(action)))
    invalid(fence, `action must be one of ${actions.join(", ")}`, { field: "action" });
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const unknown = issue.code === "unrecognized_keys" ? issue.keys[0] : undefined;
    const field = unknown ?? (issue.path.join(".") || "step");
    const what = typeof action === "string" ? `${action} steps` : "this step";
    invalid(fence, unknown ? `${field}: not a field of ${what}` : `${field}: ${issue.message}`, { field });
  }
  return parsed.data;
}

/**
 * A step field's duration as milliseconds: `30s`, `5m`, `1h`, `1500ms`, or a number (or string of
 * digits) of seconds.
 */
export const stepDuration = z
  .union([
    z.number().positive(),
    z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)?$/, "a duration such as 30s, 5m or 1h"),
  ])
  .transform((value) => {
    if (typeof value === "number") return Math.round(value * 1000);
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value)!;
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"]!;
    return Math.round(Number(match[1]) * unit);
  });
