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

/** Why a pattern can backtrack catastrophically, and what to write instead. */
export interface RegexHazard {
  /** The offending part of the pattern, as written. */
  fragment: string;
  /** A sentence saying why and what to write instead. */
  message: string;
}

/** JavaScript's non-ASCII white space (`\s` beyond ASCII). */
const unicodeSpaces = /[\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/**
 * Characters as a 128-bit ASCII set plus two coarse non-ASCII classes (white space, and every
 * other character), so `\s` and `\S` stay apart while the check stays conservative.
 */
class CharSet {
  constructor(
    readonly bits: Uint32Array = new Uint32Array(4),
    public wideSpace = false,
    public wideOther = false,
  ) {}
  static of(code: number): CharSet {
    const set = new CharSet();
    set.add(code);
    return set;
  }
  static range(lo: number, hi: number): CharSet {
    const set = new CharSet();
    set.addRange(lo, hi);
    return set;
  }
  static any(): CharSet {
    return new CharSet().complement();
  }
  add(code: number): void {
    if (code > 127) {
      if (unicodeSpaces.test(String.fromCharCode(code))) this.wideSpace = true;
      else this.wideOther = true;
    } else this.bits[code >> 5]! |= 1 << (code & 31);
  }
  addRange(lo: number, hi: number): void {
    for (let c = lo; c <= Math.min(hi, 127); c++) this.add(c);
    if (hi > 127) {
      if (lo === hi) this.add(lo);
      else {
        this.wideSpace = true;
        this.wideOther = true;
      }
    }
  }
  union(other: CharSet): CharSet {
    const out = new CharSet(
      new Uint32Array(4),
      this.wideSpace || other.wideSpace,
      this.wideOther || other.wideOther,
    );
    for (let i = 0; i < 4; i++) out.bits[i] = this.bits[i]! | other.bits[i]!;
    return out;
  }
  complement(): CharSet {
    const out = new CharSet(new Uint32Array(4), !this.wideSpace, !this.wideOther);
    for (let i = 0; i < 4; i++) out.bits[i] = ~this.bits[i]!;
    return out;
  }
  overlaps(other: CharSet): boolean {
    if (this.wideSpace && other.wideSpace) return true;
    if (this.wideOther && other.wideOther) return true;
    for (let i = 0; i < 4; i++) if ((this.bits[i]! & other.bits[i]!) !== 0) return true;
    return false;
  }
}

const digit = CharSet.range(48, 57);
const word = CharSet.range(48, 57)
  .union(CharSet.range(65, 90))
  .union(CharSet.range(97, 122))
  .union(CharSet.of(95));
const space = new CharSet(CharSet.range(9, 13).union(CharSet.of(32)).bits, true, false);
const dot = (() => {
  const s = CharSet.any();
  s.bits[0]! &= ~((1 << 10) | (1 << 13));
  return s;
})();
const nothing = new CharSet();

type Node =
  | { type: "char"; set: CharSet; start: number; end: number }
  | { type: "seq"; items: Node[]; start: number; end: number }
  | { type: "alt"; alts: Node[]; start: number; end: number }
  | { type: "group"; body: Node; start: number; end: number }
  /** Zero-width: anchors, word boundaries, lookarounds. */
  | { type: "empty"; start: number; end: number }
  | { type: "backref"; start: number; end: number }
  | { type: "repeat"; body: Node; min: number; max: number; start: number; end: number };

/** Reads a pattern into a tree; tolerant: what it does not know becomes one any-character. */
class Reader {
  i = 0;
  constructor(readonly src: string) {}

  alternation(): Node {
    const start = this.i;
    const alts = [this.sequence()];
    while (this.src[this.i] === "|") {
      this.i++;
      alts.push(this.sequence());
    }
    return alts.length === 1 ? alts[0]! : { type: "alt", alts, start, end: this.i };
  }

  sequence(): Node {
    const start = this.i;
    const items: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== "|" && this.src[this.i] !== ")") {
      const atom = this.atom();
      items.push(this.quantified(atom));
    }
    return items.length === 1 ? items[0]! : { type: "seq", items, start, end: this.i };
  }

  quantified(atom: Node): Node {
    const src = this.src;
    let min: number;
    let max: number;
    const c = src[this.i];
    if (c === "*") [min, max] = [0, Infinity];
    else if (c === "+") [min, max] = [1, Infinity];
    else if (c === "?") [min, max] = [0, 1];
    else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(this.i));
      if (m === null) return atom;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
      this.i += m[0].length - 1;
    } else return atom;
    this.i++;
    if (src[this.i] === "?") this.i++;
    if (atom.type === "empty") return atom;
    return this.quantified({ type: "repeat", body: atom, min, max, start: atom.start, end: this.i });
  }

  atom(): Node {
    const src = this.src;
    const start = this.i;
    const c = src[this.i]!;
    this.i++;
    const one = (set: CharSet): Node => ({ type: "char", set, start, end: this.i });
    switch (c) {
      case "^":
      case "$":
        return { type: "empty", start, end: this.i };
      case ".":
        return one(dot);
      case "[":
        return one(this.charClass());
      case "(": {
        let zeroWidth = false;
        if (src[this.i] === "?") {
          const m = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(src.slice(this.i));
          if (m !== null) {
            zeroWidth = m[0] === "?=" || m[0] === "?!" || m[0] === "?<=" || m[0] === "?<!";
            this.i += m[0].length;
          }
        }
        const body = this.alternation();
        if (src[this.i] === ")") this.i++;
        if (zeroWidth) return { type: "empty", start, end: this.i };
        return { type: "group", body, start, end: this.i };
      }
      case "\\":
        return this.escape(start);
      default:
        return one(CharSet.of(c.charCodeAt(0)));
    }
  }

  escape(start: number): Node {
    const src = this.src;
    const c = src[this.i];
    if (c === undefined) return { type: "char", set: CharSet.of(92), start, end: this.i };
    this.i++;
    const one = (set: CharSet): Node => ({ type: "char", set, start, end: this.i });
    if (c === "b" || c === "B") return { type: "empty", start, end: this.i };
    if (/[1-9]/.test(c)) {
      while (/\d/.test(src[this.i] ?? "")) this.i++;
      return { type: "backref", start, end: this.i };
    }
    if (c === "k" && src[this.i] === "<") {
      const close = src.indexOf(">", this.i);
      if (close !== -1) {
        this.i = close + 1;
        return { type: "backref", start, end: this.i };
      }
    }
    return one(this.escapeSet(c));
  }

  /** The characters an escape (after the backslash, `c` already read) matches. */
  escapeSet(c: string): CharSet {
    const src = this.src;
    switch (c) {
      case "d":
        return digit;
      case "D":
        return digit.complement();
      case "w":
        return word;
      case "W":
        return word.complement();
      case "s":
        return space;
      case "S":
        return space.complement();
      case "n":
        return CharSet.of(10);
      case "r":
        return CharSet.of(13);
      case "t":
        return CharSet.of(9);
      case "v":
        return CharSet.of(11);
      case "f":
        return CharSet.of(12);
      case "0":
        return CharSet.of(0);
      case "x": {
        const m = /^[0-9A-Fa-f]{2}/.exec(src.slice(this.i));
        if (m === null) return CharSet.of(120);
        this.i += 2;
        return CharSet.of(Number.parseInt(m[0], 16));
      }
      case "u": {
        const m = /^[0-9A-Fa-f]{4}/.exec(src.slice(this.i));
        if (m === null) return CharSet.of(117);
        this.i += 4;
        return CharSet.of(Number.parseInt(m[0], 16));
      }
      case "c": {
        const letter = src[this.i];
        if (letter !== undefined && /[A-Za-z]/.test(letter)) {
          this.i++;
          return CharSet.of(letter.charCodeAt(0) % 32);
        }
        return CharSet.of(92).union(CharSet.of(99));
      }
      default:
        return CharSet.of(c.charCodeAt(0));
    }
  }

  /** A `[...]` class, the `[` already read. */
  charClass(): CharSet {
    const src = this.src;
    let negated = false;
    if (src[this.i] === "^") {
      negated = true;
      this.i++;
    }
    let set = new CharSet();
    while (this.i < src.length && src[this.i] !== "]") {
      const lo = this.classAtom();
      if (src[this.i] === "-" && src[this.i + 1] !== undefined && src[this.i + 1] !== "]") {
        this.i++;
        const hi = this.classAtom();
        if (typeof lo === "number" && typeof hi === "number" && lo <= hi) set.addRange(lo, hi);
        else {
          set = set.union(typeof lo === "number" ? CharSet.of(lo) : lo);
          set = set.union(typeof hi === "number" ? CharSet.of(hi) : hi);
          set.add(45);
        }
      } else set = set.union(typeof lo === "number" ? CharSet.of(lo) : lo);
    }
    if (src[this.i] === "]") this.i++;
    return negated ? set.complement() : set;
  }

  /** One member of a class: a character code, or a set for `\d` and friends. */
  classAtom(): number | CharSet {
    const c = this.src[this.i]!;
    this.i++;
    if (c !== "\\") return c.charCodeAt(0);
    const e = this.src[this.i];
    if (e === undefined) return 92;
    this.i++;
    if (e === "b") return 8;
    if ("dDwWsS".includes(e)) return this.escapeSet(e);
    const set = this.escapeSet(e);
    let code = -1;
    for (let k = 0; k < 128 && code === -1; k++) if ((set.bits[k >> 5]! >>> (k & 31)) & 1) code = k;
    return code === -1 ? set : code;
  }
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
