/**
 * Redaction of the secrets a session was handed: every occurrence in output, errors and events
 * becomes `***`. Streams are redacted across chunk boundaries: a secret split over two chunks is
 * still caught, because the tail that could start a secret is held back until the next chunk.
 */

export const redactedMarker = "***";

export class Redactor {
  /** Longest first, so a secret containing another is replaced whole. */
  private secrets: string[] = [];

  /** Registers values to redact (empty strings are ignored). */
  add(values: Iterable<string>): void {
    let changed = false;
    for (const value of values) {
      if (typeof value !== "string" || value.length === 0 || this.secrets.includes(value)) continue;
      this.secrets.push(value);
      changed = true;
    }
    if (changed) this.secrets.sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.secrets.length;
  }

  /** Replaces every registered secret in `text`. */
  redact(text: string): string {
    if (this.secrets.length === 0 || text.length === 0) return text;
    let out = text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join(redactedMarker);
    return out;
  }

  /** A stream redactor: `push` returns what is safe to emit now, `flush` the rest at the end. */
  stream(): { push(chunk: string): string; flush(): string } {
    let pending = "";
    return {
      push: (chunk) => {
        const longest = this.secrets[0]?.length ?? 0;
        if (longest <= 1) return this.redact(pending + chunk);
        const buffer = pending + chunk;
        let cut = buffer.length - (longest - 1);
        if (cut <= 0) {
          pending = buffer;
          return "";
        }
        // Never cut through an occurrence: move the cut to its start and look again.
        for (let moved = true; moved && cut > 0; ) {
          moved = false;
          for (const secret of this.secrets) {
            let at = buffer.lastIndexOf(secret, cut - 1);
            while (at !== -1 && at + secret.length > cut) {
              cut = at;
              moved = true;
              at = at > 0 ? buffer.lastIndexOf(secret, at - 1) : -1;
            }
          }
        }
        pending = buffer.slice(cut);
        return this.redact(buffer.slice(0, cut));
      },
      flush: () => {
        const rest = this.redact(pending);
        pending = "";
        return rest;
      },
    };
  }
}
