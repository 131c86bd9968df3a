/**
 * A connector's `configSchema` read for the API and the dashboard: as JSON Schema with its secret
 * fields flagged, and the fields a generated webhook secret can go into.
 */
import { z } from "zod";
import { isSecretSchema } from "../plugin.js";

/**
 * The schema as JSON Schema (input side: defaults make a field optional). A field marked
 * `secret()` gets `"x-secret": true` and `writeOnly: true`; in-process options that JSON cannot
 * carry (a `z.custom` such as an undici dispatcher) are left out.
 */
export function configJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, {
    unrepresentable: "any",
    io: "input",
    override: (ctx) => {
      const node = ctx.zodSchema as unknown as z.ZodType;
      if (isSecretSchema(node)) {
        ctx.jsonSchema["x-secret"] = true;
        ctx.jsonSchema.writeOnly = true;
      }
      const type = (node._zod.def as { type: string }).type;
      if (type === "custom" || type === "function" || type === "transform")
        ctx.jsonSchema["x-internal"] = true;
    },
  }) as Record<string, unknown>;
  return prune(json) as Record<string, unknown>;
}

/** Drops `x-internal` properties (and their `required` entries) everywhere. */
function prune(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(prune);
  if (typeof node !== "object" || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = prune(value);
  const properties = out.properties as Record<string, Record<string, unknown>> | undefined;
  if (properties && typeof properties === "object") {
    const dropped = Object.keys(properties).filter((k) => properties[k]?.["x-internal"] === true);
    for (const key of dropped) delete properties[key];
    if (Array.isArray(out.required))
      out.required = (out.required as string[]).filter((k) => !dropped.includes(k));
  }
  return out;
}

/** A field a generated webhook secret can go into, and the variant it needs chosen. */
export interface WebhookSecretTarget {
  /** `["webhookAuth", "token"]` */
  path: string[];
  /** Discriminators to set for the field to exist (`webhookAuth.type` = `bearer`). */
  conditions: { path: string[]; value: unknown }[];
}

/**
 * The string fields marked `secret()` under a top-level key naming a webhook (`webhookAuth`,
 * `webhookSecret`, `webhook`), in declaration order, outside arrays and records. For a
 * discriminated union (`webhookAuth: bearer | basic | none`) each variant's secret is a target
 * with its discriminator as a condition.
 */
export function webhookSecretTargets(schema: z.ZodType): WebhookSecretTarget[] {
  const targets: WebhookSecretTarget[] = [];
  const walk = (
    node: z.ZodType,
    path: string[],
    conditions: WebhookSecretTarget["conditions"],
    depth: number,
  ) => {
    if (depth > 16) return;
    if (isSecretSchema(node) && path.length > 0) {
      if (/webhook/i.test(path[0]!)) targets.push({ path, conditions });
      return;
    }
    const def = node._zod.def as unknown as Record<string, unknown> & { type: string };
    switch (def.type) {
      case "object":
        for (const [key, child] of Object.entries(def.shape as Record<string, z.ZodType>))
          walk(child, [...path, key], conditions, depth + 1);
        break;
      case "optional":
      case "nullable":
      case "default":
      case "prefault":
      case "nonoptional":
      case "readonly":
      case "catch":
        walk(def.innerType as z.ZodType, path, conditions, depth + 1);
        break;
      case "pipe":
        walk(def.in as z.ZodType, path, conditions, depth + 1);
        break;
      case "union": {
        const discriminator = typeof def.discriminator === "string" ? def.discriminator : undefined;
        for (const option of def.options as z.ZodType[]) {
          const value = discriminator ? literalOf(option, discriminator) : undefined;
          walk(
            option,
            path,
            value === undefined ? conditions : [...conditions, { path: [...path, discriminator!], value }],
            depth + 1,
          );
        }
        break;
      }
      default:
        break;
    }
  };
  walk(schema, [], [], 0);
  return targets;
}

/** The single literal value of an object option's discriminator field. */
function literalOf(option: z.ZodType, key: string): unknown {
  const def = option._zod.def as unknown as { type: string; shape?: Record<string, z.ZodType> };
  const field = def.type === "object" ? def.shape?.[key] : undefined;
  const values = (field?._zod.def as { values?: unknown[] } | undefined)?.values;
  return Array.isArray(values) && values.length === 1 ? values[0] : undefined;
}
