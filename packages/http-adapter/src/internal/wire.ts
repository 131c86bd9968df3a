/**
 * The snake_case ↔ camelCase boundary, driven by core's zod schemas.
 *
 * Core speaks camelCase; the documented API speaks snake_case. Rather than renaming every key of
 * every JSON value (which would also rename the keys *inside* free-form JSON such as a ticket's
 * `meta_data`), each conversion walks the schema alongside the value: only keys of `z.object`
 * shapes are renamed; records, `unknown` and other leaves are passed through untouched.
 */
import { z } from "zod";

type AnySchema = z.ZodType;
interface Def {
  type: string;
  shape?: Record<string, AnySchema>;
  catchall?: AnySchema;
  element?: AnySchema;
  innerType?: AnySchema;
  options?: readonly AnySchema[];
  in?: AnySchema;
  out?: AnySchema;
  checks?: unknown[];
  getter?: () => AnySchema;
}

function defOf(schema: AnySchema): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

function clone(schema: AnySchema, def: Def): AnySchema {
  return (schema as unknown as { clone(def: Def): AnySchema }).clone(def);
}

/** `metaData` → `meta_data`, `dryRun` → `dry_run`. */
export function toSnake(key: string): string {
  return key.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
}

/** `meta_data` → `metaData`. */
export function toCamel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Wrapper types whose inner schema sits in `innerType`. */
const wrappers = new Set(["optional", "nullable", "default", "prefault", "readonly", "catch", "nonoptional"]);

const snakeCache = new WeakMap<AnySchema, AnySchema>();

/**
 * The same schema with every object key in snake_case: what the API accepts and answers.
 * Object-level refinements are dropped (they read camelCase keys); core re-checks the converted
 * value with the original schema, so nothing goes unchecked.
 */
export function snakeSchema<T extends AnySchema>(schema: T): AnySchema {
  const cached = snakeCache.get(schema);
  if (cached) return cached;
  const def = defOf(schema);
  let result: AnySchema = schema;
  switch (def.type) {
    case "object": {
      const shape: Record<string, AnySchema> = {};
      for (const [key, value] of Object.entries(def.shape ?? {})) shape[toSnake(key)] = snakeSchema(value);
      result = clone(schema, { ...def, shape, checks: [] });
      break;
    }
    case "array":
      result = clone(schema, { ...def, element: snakeSchema(def.element!) });
      break;
    case "union":
      result = clone(schema, { ...def, options: def.options!.map((o) => snakeSchema(o)) });
      break;
    case "pipe":
      // A transform's input side is what travels on the wire.
      result = snakeSchema(def.in!);
      break;
    case "lazy":
      result = z.lazy(() => snakeSchema(def.getter!()));
      break;
    default:
      if (wrappers.has(def.type) && def.innerType) {
        result = clone(schema, { ...def, innerType: snakeSchema(def.innerType) });
      }
  }
  snakeCache.set(schema, result);
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function convert(
  schema: AnySchema,
  value: unknown,
  rename: (key: string) => string,
  toWire: boolean,
): unknown {
  if (value === undefined || value === null) return value;
  const def = defOf(schema);
  switch (def.type) {
    case "object": {
      if (!isPlainObject(value)) return value;
      const shape = def.shape ?? {};
      const out: Record<string, unknown> = {};
      if (toWire) {
        for (const [key, field] of Object.entries(shape)) {
          if (key in value) out[toSnake(key)] = convert(field, value[key], rename, toWire);
        }
      } else {
        for (const [key, field] of Object.entries(shape)) {
          const wireKey = toSnake(key);
          if (wireKey in value) out[key] = convert(field, value[wireKey], rename, toWire);
        }
      }
      // Keys outside the shape survive only where the schema lets them (catchall/passthrough).
      if (def.catchall && defOf(def.catchall).type !== "never") {
        const known = new Set(Object.keys(shape).map((k) => (toWire ? k : toSnake(k))));
        for (const [key, v] of Object.entries(value)) if (!known.has(key)) out[rename(key)] = v;
      }
      return out;
    }
    case "array":
      return Array.isArray(value) ? value.map((v) => convert(def.element!, v, rename, toWire)) : value;
    case "union": {
      const options = def.options ?? [];
      if (!isPlainObject(value) && !Array.isArray(value)) return value;
      // Pick the option the value fits once converted.
      for (const option of options) {
        const converted = convert(option, value, rename, toWire);
        const check = toWire ? snakeSchema(option) : option;
        if (check.safeParse(converted).success) return converted;
      }
      return options[0] ? convert(options[0], value, rename, toWire) : value;
    }
    case "pipe":
      return convert(def.in!, value, rename, toWire);
    case "lazy":
      return convert(def.getter!(), value, rename, toWire);
    default:
      if (wrappers.has(def.type) && def.innerType) return convert(def.innerType, value, rename, toWire);
      return value;
  }
}

/** camelCase value (as core returns it) → snake_case JSON, guided by `schema`. */
export function toWire(schema: AnySchema, value: unknown): unknown {
  return convert(schema, value, toSnake, true);
}

/** snake_case JSON (as the API receives it) → camelCase value for core, guided by `schema`. */
export function fromWire(schema: AnySchema, value: unknown): unknown {
  return convert(schema, value, toCamel, false);
}

/** A dotted snake_case path for an issue path from core (`["metaData","x"]` → `meta_data.x`). */
export function wirePath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === "string" ? toSnake(p) : String(p))).join(".");
}
