/**
 * Output capture with a cap: the head and the tail are kept, the middle is dropped and counted, so
 * a runaway command can neither fill memory nor the store, and the end of its output (where the
 * error usually is) survives.
 */

export const defaultOutputCap = 64 * 1024;

export class CappedText {
  private head = "";
  private tail = "";
  private omitted = 0;
  private readonly headCap: number;
  private readonly tailCap: number;

  /** `cap` characters at most are kept: half from the start, half from the end. */
  constructor(cap = defaultOutputCap) {
    this.headCap = Math.ceil(cap / 2);
    this.tailCap = Math.floor(cap / 2);
  }

  append(chunk: string): void {
    if (chunk.length === 0) return;
    let rest = chunk;
    if (this.head.length < this.headCap) {
      const room = this.headCap - this.head.length;
      this.head += rest.slice(0, room);
      rest = rest.slice(room);
    }
    if (rest.length === 0) return;
    this.tail += rest;
    // Trim in batches so a stream of small chunks stays linear.
    if (this.tail.length > this.tailCap * 2 || this.tail.length > this.tailCap + 65_536) this.trim();
  }

  /** Characters dropped from the middle so far. */
  get omittedChars(): number {
    this.trim();
    return this.omitted;
  }

  get truncated(): boolean {
    return this.omittedChars > 0;
  }

  toString(): string {
    this.trim();
    if (this.omitted === 0) return this.head + this.tail;
    return `${this.head}\n…[${this.omitted} characters omitted]…\n${this.tail}`;
  }

  private trim(): void {
    if (this.tail.length <= this.tailCap) return;
    const drop = this.tail.length - this.tailCap;
    this.omitted += drop;
    this.tail = this.tail.slice(drop);
  }
}
