import { createHash } from "node:crypto";
import { type ParseOptions, type ParseResult, parseRunbook } from "./parse.js";

/** The sha256 of a runbook's Markdown, in hex: the key its parsed plan is stored under. */
export function hashRunbook(markdown: string): string {
  return createHash("sha256").update(markdown, "utf8").digest("hex");
}

/** Options of {@link createRunbookCache}. */
export interface RunbookCacheOptions {
  /** Most plans kept; the least recently used goes first. Default 10,000. */
  maxEntries?: number;
}

/**
 * Parsed runbooks keyed by the sha256 of their Markdown, so a stored runbook is parsed once.
 * Cached results are frozen: treat them as read-only.
 */
export interface RunbookCache {
  /** The parse of `markdown`: from the cache when the same text was parsed before. */
  parse(markdown: string, options?: ParseOptions): Readonly<ParseResult>;
  /** The cached parse for a hash from {@link hashRunbook}, without the text. */
  get(hash: string, options?: ParseOptions): Readonly<ParseResult> | undefined;
  /** True when a parse for this hash (and these options) is cached. */
  has(hash: string, options?: ParseOptions): boolean;
  /** Forgets the parses of this hash (with and without `warningsAsErrors`). */
  delete(hash: string): void;
  /** Forgets every cached parse. */
  clear(): void;
  /** How many parses are cached. */
  readonly size: number;
}

/**
 * Creates an in-memory LRU cache of parsed runbooks, keyed by {@link hashRunbook}. Throws a
 * `RangeError` when `maxEntries` is not a whole number of 1 or more.
 *
 * @example
 * ```ts
 * const cache = createRunbookCache({ maxEntries: 500 });
 * const { runbook, diagnostics } = cache.parse(markdown); // parsed once per distinct text
 * ```
 */
export function createRunbookCache(options: RunbookCacheOptions = {}): RunbookCache {
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(
      `createRunbookCache: maxEntries must be a whole number of 1 or more, got ${maxEntries}`,
    );
  }
  const entries = new Map<string, Readonly<ParseResult>>();
  const keyOf = (hash: string, opts?: ParseOptions) => (opts?.warningsAsErrors ? `${hash}:strict` : hash);
  const touch = (key: string) => {
    const value = entries.get(key);
    if (value !== undefined) {
      entries.delete(key);
      entries.set(key, value);
    }
    return value;
  };
  return {
    parse(markdown, opts) {
      const key = keyOf(hashRunbook(typeof markdown === "string" ? markdown : String(markdown)), opts);
      const hit = touch(key);
      if (hit !== undefined) return hit;
      const result = deepFreeze(parseRunbook(markdown, opts));
      entries.set(key, result);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      return result;
    },
    get: (hash, opts) => touch(keyOf(hash, opts)),
    has: (hash, opts) => entries.has(keyOf(hash, opts)),
    delete(hash) {
      entries.delete(hash);
      entries.delete(`${hash}:strict`);
    },
    clear: () => entries.clear(),
    get size() {
      return entries.size;
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
