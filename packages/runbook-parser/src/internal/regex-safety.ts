/**
 * A conservative check for regular expressions that can backtrack catastrophically in
 * JavaScript's backtracking engine. Runbook authors write them (`expect` output patterns, front
 * matter title/description patterns) and core runs them on command output and ticket text.
 *
 * Why not a library: safe-regex2 only measures star height, so it misses `(a|aa)+` and flags
 * safe counted groups such as `^(\d{1,3}\.){3}\d{1,3}$`; recheck is thorough but ships a 5.6 MB
 * Scala.js build plus 23–29 MB optional native/JAR backends and takes milliseconds to seconds per
 * pattern; redos-detector takes seconds on simple patterns and flags `.*error.*`.
 *
 * What is flagged (each a pattern that is ambiguous, so that text which almost matches is tried
 * in exponentially or high-polynomially many ways):
 * - a repeated group whose body can match empty text: `(a*)*`, `(a?)+`;
 * - a repeated group whose alternatives can start with the same character: `(a|aa)+`, `(\w|\d)*`;
 * - a variable-length repeat inside a repeated group (`+`, `*`, `{n,}`, or a count of 2 or more)
 *   whose characters can also be matched by what follows it in the group, including the group's
 *   next repetition: `(a+)+`, `(\w+\s?)+`, `(.*a){20}`, `(\s*,\s*)*`; a counted outer group
 *   (`{20}`) is flagged only when the inner repeat is unbounded;
 * - two unbounded repeats in a row (only optional parts between them) that can match the same
 *   characters: `a*a*`, `\w+\s*\w+`, `.*\d+`.
 * Not flagged: one unbounded repeat followed by what it can also match (`.*error.*`, `\d+ rows?`):
 * quadratic at worst on the text searched, which every unanchored search is.
 * Patterns are read as `new RegExp(source)` reads them (no flags, Annex B syntax); a construct the
 * reader does not know is taken as one character that may be any character.
 */

import { CharSet, type Node, nothing, Reader } from "./regex-syntax.js";

/** Why a pattern can backtrack catastrophically, and what to write instead. */
export interface RegexHazard {
  /** The offending part of the pattern, as written. */
  fragment: string;
  /** A sentence saying why and what to write instead. */
  message: string;
}

function minLength(node: Node): number {
  switch (node.type) {
    case "char":
      return 1;
    case "empty":
    case "backref":
      return 0;
    case "seq":
      return node.items.reduce((n, item) => n + minLength(item), 0);
    case "alt":
      return Math.min(...node.alts.map(minLength));
    case "group":
      return minLength(node.body);
    case "repeat":
      return node.min * minLength(node.body);
  }
}

function canMatchText(node: Node): boolean {
  switch (node.type) {
    case "char":
    case "backref":
      return true;
    case "empty":
      return false;
    case "seq":
      return node.items.some(canMatchText);
    case "alt":
      return node.alts.some(canMatchText);
    case "group":
      return canMatchText(node.body);
    case "repeat":
      return node.max > 0 && canMatchText(node.body);
  }
}

/** The characters a match of `node` can start with. */
function firstChars(node: Node): CharSet {
  switch (node.type) {
    case "char":
      return node.set;
    case "empty":
      return nothing;
    case "backref":
      return CharSet.any();
    case "seq": {
      let set = nothing;
      for (const item of node.items) {
        set = set.union(firstChars(item));
        if (minLength(item) > 0) break;
      }
      return set;
    }
    case "alt":
      return node.alts.reduce((s, a) => s.union(firstChars(a)), nothing);
    case "group":
      return firstChars(node.body);
    case "repeat":
      return node.max === 0 ? nothing : firstChars(node.body);
  }
}

/** Every character a match of `node` can contain. */
function allChars(node: Node): CharSet {
  switch (node.type) {
    case "char":
      return node.set;
    case "empty":
      return nothing;
    case "backref":
      return CharSet.any();
    case "seq":
      return node.items.reduce((s, i) => s.union(allChars(i)), nothing);
    case "alt":
      return node.alts.reduce((s, a) => s.union(allChars(a)), nothing);
    case "group":
      return allChars(node.body);
    case "repeat":
      return node.max === 0 ? nothing : allChars(node.body);
  }
}

/** The alternatives of a group body, through plain groups: `((a|b))` → [a, b]. */
function alternativesOf(node: Node): Node[] {
  if (node.type === "group") return alternativesOf(node.body);
  if (node.type === "alt") return node.alts;
  return [node];
}

class Checker {
  constructor(readonly src: string) {}

  text(node: Node): string {
    return this.src.slice(node.start, node.end);
  }

  hazard(node: Node): RegexHazard | undefined {
    switch (node.type) {
      case "seq":
        return this.adjacent(node) ?? this.first(node.items);
      case "alt":
        return this.first(node.alts);
      case "group":
        return this.hazard(node.body);
      case "repeat":
        return this.repeat(node) ?? this.hazard(node.body);
      default:
        return undefined;
    }
  }

  first(nodes: Node[]): RegexHazard | undefined {
    for (const n of nodes) {
      const h = this.hazard(n);
      if (h !== undefined) return h;
    }
    return undefined;
  }

  /** A repeat that can run its body twice or more, checked for ambiguous repetitions. */
  repeat(node: Extract<Node, { type: "repeat" }>): RegexHazard | undefined {
    if (node.max < 2) return undefined;
    const body = node.body;
    const whole = this.text(node);
    if (minLength(body) === 0 && canMatchText(body)) {
      return {
        fragment: whole,
        message: `"${whole}" repeats "${this.text(body)}", which can match empty text, so the same text is matched in many ways: make the repeated part match at least one character (write "a*" rather than "(a*)*")`,
      };
    }
    const alts = alternativesOf(body);
    for (let a = 0; a < alts.length; a++) {
      for (let b = a + 1; b < alts.length; b++) {
        if (firstChars(alts[a]!).overlaps(firstChars(alts[b]!))) {
          return {
            fragment: whole,
            message: `"${whole}" repeats alternatives that can start with the same character ("${this.text(alts[a]!)}" and "${this.text(alts[b]!)}"), so the same text splits into them in many ways: make the alternatives start with different characters, or use one character class (write "a+" rather than "(a|aa)+")`,
          };
        }
      }
    }
    // The body's next repetition follows its end.
    return this.inner(body, firstChars(body), node.max === Infinity, whole);
  }

  /**
   * Looks for a variable-length repeat inside a repeated group's body whose characters can also
   * be matched by what follows it (`follow`): then each repetition can end in many places.
   */
  inner(node: Node, follow: CharSet, outerUnbounded: boolean, whole: string): RegexHazard | undefined {
    switch (node.type) {
      case "seq": {
        let after = follow;
        for (let k = node.items.length - 1; k >= 0; k--) {
          const item = node.items[k]!;
          const h = this.inner(item, after, outerUnbounded, whole);
          if (h !== undefined) return h;
          after = minLength(item) > 0 ? firstChars(item) : firstChars(item).union(after);
        }
        return undefined;
      }
      case "alt":
        for (const alt of node.alts) {
          const h = this.inner(alt, follow, outerUnbounded, whole);
          if (h !== undefined) return h;
        }
        return undefined;
      case "group":
        return this.inner(node.body, follow, outerUnbounded, whole);
      case "repeat": {
        const variable = outerUnbounded ? node.max > node.min : node.max === Infinity;
        const chars = allChars(node.body);
        if (variable && chars.overlaps(follow)) {
          const part = this.text(node);
          return {
            fragment: whole,
            message: `"${part}" inside "${whole}" can also match what follows it, so each repetition can end in many places: repeat the group's part once, or make it stop at a character that follows it (write "[^,]*," rather than ".*,")`,
          };
        }
        return this.inner(
          node.body,
          node.max > 1 ? firstChars(node.body).union(follow) : follow,
          outerUnbounded,
          whole,
        );
      }
      default:
        return undefined;
    }
  }

  /** Two unbounded repeats in a row (only optional parts between) that match the same characters. */
  adjacent(node: Extract<Node, { type: "seq" }>): RegexHazard | undefined {
    const items = node.items;
    for (let a = 0; a < items.length; a++) {
      const left = unwrap(items[a]!);
      if (left.type !== "repeat" || left.max !== Infinity) continue;
      const chars = allChars(left.body);
      for (let b = a + 1; b < items.length; b++) {
        const right = unwrap(items[b]!);
        if (right.type === "repeat" && right.max === Infinity && firstChars(right).overlaps(chars)) {
          const both = this.src.slice(items[a]!.start, items[b]!.end);
          return {
            fragment: both,
            message: `"${this.text(items[a]!)}" and "${this.text(items[b]!)}" in "${both}" repeat the same characters one after the other, so text they both match splits between them in many ways: merge them into one repeat, or separate them by a character neither matches (write "\\w+\\s+\\w+" rather than "\\w+\\s*\\w+")`,
          };
        }
        if (minLength(items[b]!) > 0) break;
      }
    }
    return undefined;
  }
}

function unwrap(node: Node): Node {
  return node.type === "group" ? unwrap(node.body) : node;
}

const cache = new Map<string, RegexHazard | null>();

/**
 * Why a JavaScript regular expression source can backtrack catastrophically, or undefined when
 * this conservative check finds nothing (see the file header for what it flags).
 */
export function regexHazard(source: string): RegexHazard | undefined {
  const cached = cache.get(source);
  if (cached !== undefined) return cached ?? undefined;
  const reader = new Reader(source);
  let tree = reader.alternation();
  // A stray ")" (which `new RegExp` rejects anyway): read the rest as well.
  while (reader.i < source.length) {
    reader.i++;
    tree = { type: "seq", items: [tree, reader.alternation()], start: 0, end: reader.i };
  }
  const hazard = new Checker(source).hazard(tree);
  if (cache.size < 1000) cache.set(source, hazard ?? null);
  return hazard;
}
