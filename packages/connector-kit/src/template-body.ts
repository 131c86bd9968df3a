/**
 * Reading a webhook body that was meant to be JSON but is not, because the vendor substituted its
 * variables as plain text: a value with a double quote or a backslash (a Windows volume `C:\`)
 * breaks the JSON. The body still has the template's shape — known keys, each followed by a quoted
 * value — so each value is what lies between its key and the next known key.
 */

const escapeRegExp = (key: string) => key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The template's fields read from `raw` by their keys, or undefined when `raw` does not have the
 * template's shape (not an object, no known key, a value that is neither quoted text nor a number).
 * A value is JSON-unescaped when it is valid JSON string content, else kept as it is.
 */
export function readTemplateBody(raw: string, keys: readonly string[]): Record<string, string> | undefined {
  const text = raw.trim();
  if (!text.startsWith("{") || !text.endsWith("}")) return undefined;
  const inner = text.slice(1, -1);
  const keyPattern = new RegExp(`(^|[,\\s])"(${keys.map(escapeRegExp).join("|")})"\\s*:\\s*`, "g");
  const hits = [...inner.matchAll(keyPattern)].map((m) => ({
    key: m[2]!,
    start: m.index + m[1]!.length,
    valueStart: m.index + m[0].length,
  }));
  if (hits.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const [i, hit] of hits.entries()) {
    const end = i + 1 < hits.length ? hits[i + 1]!.start : inner.length;
    let value = inner.slice(hit.valueStart, end).trim();
    if (i + 1 < hits.length || value.endsWith(",")) {
      if (!value.endsWith(",")) return undefined;
      value = value.slice(0, -1).trimEnd();
    }
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      const content = value.slice(1, -1);
      let parsed: unknown;
      try {
        parsed = JSON.parse(`"${content}"`);
      } catch {
        parsed = content;
      }
      value = typeof parsed === "string" ? parsed : content;
    } else if (!/^-?\d{1,20}(\.\d{1,20})?$/.test(value)) {
      return undefined;
    }
    if (!(hit.key in out)) out[hit.key] = value;
  }
  return out;
}
