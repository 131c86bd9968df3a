/**
 * A webhook source's JSONata expressions, compiled and evaluated under guards: every evaluation
 * has a time limit and a depth limit (JSONata's own `timeout` and `stack` options: a recursive
 * function or an endless `$map` stops with D1011/D1012) and a sequence length limit, and one body
 * has a total time budget over all its alerts; `$pad` has a bounded width. Errors become
 * `RW_ERR_INPUT_MAPPING` naming the expression, the position and the token.
 */
import jsonata from "jsonata";
import { z } from "zod";
import { rwError } from "../errors.js";

/** The four expressions of a webhook source. */
export const mappingExpressions = ["items", "mapping", "fingerprint", "resolveWhen"] as const;
export type MappingExpression = (typeof mappingExpressions)[number];

/** What a source's mapping is made of; `mapping` is required, the others optional. */
export interface MappingSpec {
  items?: string | null | undefined;
  mapping: string;
  fingerprint?: string | null | undefined;
  resolveWhen?: string | null | undefined;
}

/** Limits on one evaluation and on one body. */
export interface MappingLimits {
  /** Per expression evaluation, milliseconds. */
  timeoutMs: number;
  /** Nested evaluation depth (recursion). */
  maxDepth: number;
  /** Items (alerts) one body may yield. */
  maxItems: number;
  /** Longest sequence an expression may build. */
  maxSequence: number;
  /** All expressions over one body, milliseconds. */
  budgetMs: number;
}

export const defaultMappingLimits: MappingLimits = {
  timeoutMs: 250,
  maxDepth: 150,
  maxItems: 1_000,
  maxSequence: 100_000,
  budgetMs: 2_000,
};

type Compiled = Partial<Record<MappingExpression, jsonata.Expression>>;

/**
 * A quantified group that itself holds a quantifier (`(a+)+`, `(\w*,?)*`, `(x{2,})+`): the shape of
 * most catastrophic-backtracking patterns. A single `RegExp.exec` cannot be interrupted, so such a
 * regular expression in a mapping is refused rather than timed out.
 */
const nestedQuantifier = /\((?:[^()\\]|\\.)*[*+}](?:[^()\\]|\\.)*\)\s*[*+{]/;

/** The RegExp JSONata builds a mapping's regular expressions with: refuses nested quantifiers. */
class GuardedRegExp extends RegExp {
  constructor(pattern: RegExp | string, flags?: string) {
    const source = typeof pattern === "string" ? pattern : pattern.source;
    if (nestedQuantifier.test(source)) {
      throw {
        code: "RW_REGEX",
        message: `the regular expression /${source.slice(0, 60)}/ nests quantifiers (catastrophic backtracking): rewrite it without a quantified group that holds a quantifier`,
      };
    }
    super(pattern, flags);
  }
}

/** The widest `$pad` a mapping may ask for: JSONata's own builds the padding in one go, unbounded. */
const maxPadWidth = 10_000;

/**
 * `$pad` with a bounded width, bound over JSONata's built-in (a binding shadows it): `$pad("", 1e9)`
 * would otherwise allocate a gigabyte in one uninterruptible call.
 */
function boundedPad(str: unknown, width: unknown, char?: unknown): string | undefined {
  if (str === undefined) return undefined;
  const w = Math.trunc(Number(width));
  if (!Number.isFinite(w) || Math.abs(w) > maxPadWidth) {
    throw { code: "D3141", message: `$pad width must be at most ${maxPadWidth}` };
  }
  const fill = typeof char === "string" && char !== "" ? char : " ";
  const text = String(str);
  return w >= 0 ? text.padEnd(w, fill) : text.padStart(-w, fill);
}

/** What the mapping made of one item: the mapping's object, the fingerprint, whether it resolves. */
export interface MappedItem {
  fields: Record<string, unknown>;
  fingerprint: string | undefined;
  resolved: boolean | undefined;
}

interface JsonataFailure {
  code?: unknown;
  message?: unknown;
  position?: unknown;
  token?: unknown;
}

function mappingError(expression: MappingExpression, error: unknown, item?: number): never {
  const failure = (error ?? {}) as JsonataFailure;
  const jsonataCode = typeof failure.code === "string" ? failure.code : undefined;
  const position = typeof failure.position === "number" ? failure.position : undefined;
  const token = typeof failure.token === "string" ? failure.token.slice(0, 80) : undefined;
  const text =
    typeof failure.message === "string" ? failure.message.slice(0, 300) : String(error).slice(0, 300);
  const where = item === undefined ? "" : ` on item ${item}`;
  const at = position === undefined ? "" : ` at position ${position}`;
  throw rwError("RW_ERR_INPUT_MAPPING", `the ${expression} expression failed${where}${at}: ${text}`, {
    details: {
      expression,
      ...(jsonataCode ? { jsonataCode } : {}),
      ...(position !== undefined ? { position } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(item !== undefined ? { item } : {}),
      fields: [{ field: expression, message: text }],
    },
  });
}

/** A compiled mapping: evaluate it on bodies as often as needed. */
export interface CompiledMapping {
  evaluate(body: unknown): Promise<MappedItem[]>;
}

/**
 * Compiles the expressions (a syntax error throws `RW_ERR_INPUT_MAPPING` with its position).
 */
export function compileMapping(
  spec: MappingSpec,
  limits: MappingLimits = defaultMappingLimits,
): CompiledMapping {
  const options = {
    timeout: limits.timeoutMs,
    stack: limits.maxDepth,
    sequence: limits.maxSequence,
    RegexEngine: GuardedRegExp as RegExpConstructor,
  };
  const compiled: Compiled = {};
  for (const name of mappingExpressions) {
    const source = spec[name];
    if (source === undefined || source === null || source.trim() === "") continue;
    try {
      compiled[name] = jsonata(source, options);
    } catch (error) {
      mappingError(name, error);
    }
  }
  if (!compiled.mapping) mappingError("mapping", { message: "the mapping expression is empty" });

  return {
    async evaluate(body) {
      const started = Date.now();
      const run = async (name: MappingExpression, input: unknown, item?: number): Promise<unknown> => {
        const expression = compiled[name];
        if (!expression) return undefined;
        if (Date.now() - started > limits.budgetMs) {
          mappingError(
            name,
            { code: "D1012", message: `the body took over ${limits.budgetMs} ms to map` },
            item,
          );
        }
        try {
          return plain(await expression.evaluate(input, { body, pad: boundedPad }));
        } catch (error) {
          mappingError(name, error, item);
        }
      };

      let items: unknown[];
      if (compiled.items) {
        const selected = await run("items", body);
        items = selected === undefined ? [] : Array.isArray(selected) ? selected : [selected];
      } else {
        items = Array.isArray(body) ? body : [body];
      }
      if (items.length > limits.maxItems) {
        throw rwError(
          "RW_ERR_INPUT_TOO_LARGE",
          `the body maps to ${items.length} items, over ${limits.maxItems}`,
          {
            details: { limit: limits.maxItems, count: items.length },
          },
        );
      }

      const mapped: MappedItem[] = [];
      for (const [i, item] of items.entries()) {
        const at = items.length > 1 ? i : undefined;
        const fields = await run("mapping", item, at);
        if (fields === null || typeof fields !== "object" || Array.isArray(fields)) {
          mappingError(
            "mapping",
            { message: `expected an object of ticket fields, got ${describe(fields)}` },
            at,
          );
        }
        const fingerprint = await run("fingerprint", item, at);
        const resolved = await run("resolveWhen", item, at);
        mapped.push({
          fields: fields as Record<string, unknown>,
          fingerprint:
            fingerprint === undefined || fingerprint === null || fingerprint === ""
              ? undefined
              : typeof fingerprint === "string" || typeof fingerprint === "number"
                ? String(fingerprint)
                : JSON.stringify(fingerprint),
          resolved: compiled.resolveWhen ? resolved === true : undefined,
        });
      }
      return mapped;
    },
  };
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing (no field matched)";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/**
 * JSONata results carry sequence flags and may hold functions: keep plain JSON only (a function or
 * a cycle cannot reach a ticket).
 */
function plain(value: unknown): unknown {
  if (value === undefined) return undefined;
  const json = JSON.stringify(value, (_key, v: unknown) => (typeof v === "function" ? undefined : v));
  return json === undefined ? undefined : (JSON.parse(json) as unknown);
}

/** The request shape of a mapping, for the API: each expression at most 16 KiB. */
export const MappingSpecSchema = z.object({
  items: z.string().max(16_384).nullable().optional(),
  mapping: z.string().min(1, "a mapping expression is required").max(16_384),
  fingerprint: z.string().max(16_384).nullable().optional(),
  resolveWhen: z.string().max(16_384).nullable().optional(),
});
