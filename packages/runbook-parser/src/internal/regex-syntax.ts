/**
 * Regular expression syntax for the safety check (regex-safety.ts): a tolerant reader of
 * JavaScript pattern sources (no flags, Annex B) into a small tree, and the character sets its
 * atoms match. A construct the reader does not know is taken as one character.
 */

/** JavaScript's non-ASCII white space (`\s` beyond ASCII). */
const unicodeSpaces = /[\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/**
 * Characters as a 128-bit ASCII set plus two coarse non-ASCII classes (white space, and every
 * other character), so `\s` and `\S` stay apart while the check stays conservative.
 */
export class CharSet {
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

export const digit = CharSet.range(48, 57);
export const word = CharSet.range(48, 57)
  .union(CharSet.range(65, 90))
  .union(CharSet.range(97, 122))
  .union(CharSet.of(95));
export const space = new CharSet(CharSet.range(9, 13).union(CharSet.of(32)).bits, true, false);
export const dot = (() => {
  const s = CharSet.any();
  s.bits[0]! &= ~((1 << 10) | (1 << 13));
  return s;
})();
export const nothing = new CharSet();

export type Node =
  | { type: "char"; set: CharSet; start: number; end: number }
  | { type: "seq"; items: Node[]; start: number; end: number }
  | { type: "alt"; alts: Node[]; start: number; end: number }
  | { type: "group"; body: Node; start: number; end: number }
  /** Zero-width: anchors, word boundaries, lookarounds. */
  | { type: "empty"; start: number; end: number }
  | { type: "backref"; start: number; end: number }
  | { type: "repeat"; body: Node; min: number; max: number; start: number; end: number };

/** Reads a pattern into a tree; tolerant: what it does not know becomes one any-character. */
export class Reader {
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
