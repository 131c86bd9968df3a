/**
 * Redaction of the secrets a session was handed: every occurrence in output, errors and events
 * becomes `***`. Streams are redacted across chunk boundaries: a secret split over two chunks is
 * still caught, because the tail that could start a secret is held back until the next chunk.
 *
 * Each registered value is also redacted in the forms a step or a connector commonly derives from
 * it (see `derivedForms`). A session's redactor inherits the engine's own (the server's secrets,
 * connector config secrets), so those are redacted from every session too.
 */

export const redactedMarker = "***";

/** A base64 fragment shorter than this is not registered: too likely to occur by chance. */
const minFragment = 8;

/**
 * The forms of `secret` worth redacting besides itself: URL-encoded (`encodeURIComponent` and
 * form encoding), JSON-escaped, hex (lower and upper case), base64 and base64url of the secret
 * alone, and the part of its base64/base64url encoding that does not depend on what surrounds it,
 * for each of the three byte offsets it can sit at inside a longer encoded text. The last catches
 * `Basic base64(user:password)` whatever the user name (only the two or three characters at the
 * edges of the password's part stay visible). An encoding a step chooses on purpose (reversed,
 * XOR-ed, split) is not caught: redaction is a safety net, not a boundary.
 */
export function derivedForms(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const forms = new Set<string>([
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
    bytes.toString("hex"),
    bytes.toString("hex").toUpperCase(),
  ]);
  for (const encoding of ["base64", "base64url"] as const) {
    forms.add(bytes.toString(encoding));
    for (let offset = 0; offset < 3; offset++) {
      const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString(encoding);
      // Whole groups of 3 bytes made only of the secret's bytes map to 4 fixed characters.
      const from = offset === 0 ? 0 : 4;
      const to = 4 * Math.floor((offset + bytes.length) / 3);
      if (to - from >= minFragment) forms.add(encoded.slice(from, to));
    }
  }
  forms.delete(secret);
  forms.delete("");
  return [...forms];
}

export class Redactor {
  /** The values registered here (not inherited). */
  private readonly values = new Set<string>();
  /** Those values and their derived forms. */
  private readonly own = new Set<string>();
  private version = 0;
  /** Own and inherited strings to replace, longest first, as of `cachedAt`. */
  private sorted: string[] = [];
  private cachedAt = "";

  /** @param parent - a redactor whose values are redacted here too (the engine's, for a session). */
  constructor(private readonly parent?: Redactor) {}

  /** Registers values to redact, with their derived forms (empty strings are ignored). */
  add(values: Iterable<string>): void {
    for (const value of values) {
      if (typeof value !== "string" || value.length === 0 || this.values.has(value)) continue;
      this.values.add(value);
      this.own.add(value);
      for (const form of derivedForms(value)) this.own.add(form);
      this.version++;
    }
  }

  /** How many values were registered on this redactor (inherited ones not counted). */
  get size(): number {
    return this.values.size;
  }

  /** Changes whenever this redactor's or an ancestor's list changes. */
  private stamp(): string {
    return this.parent ? `${this.version}.${this.parent.stamp()}` : String(this.version);
  }

  /** Every string to replace, longest first, so a secret containing another is replaced whole. */
  private list(): string[] {
    const stamp = this.stamp();
    if (stamp !== this.cachedAt) {
      const all = new Set(this.parent ? this.parent.list() : []);
      for (const value of this.own) all.add(value);
      this.sorted = [...all].sort((a, b) => b.length - a.length);
      this.cachedAt = stamp;
    }
    return this.sorted;
  }

  /** Replaces every registered secret in `text`. */
  redact(text: string): string {
    const secrets = this.list();
    if (secrets.length === 0 || text.length === 0) return text;
    let out = text;
    for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(redactedMarker);
    return out;
  }

  /** A stream redactor: `push` returns what is safe to emit now, `flush` the rest at the end. */
  stream(): { push(chunk: string): string; flush(): string } {
    let pending = "";
    return {
      push: (chunk) => {
        const secrets = this.list();
        const longest = secrets[0]?.length ?? 0;
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
          for (const secret of secrets) {
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
