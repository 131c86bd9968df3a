/**
 * Rendering an HTTP step's templates. Every value is percent-encoded (`encodeURIComponent`), so it
 * cannot add a `/`, `?`, `#`, `&` or `=` of its own; in the request line the value's place decides
 * what else is checked. In a path segment the rendered segment must not be `.` or `..` (also
 * spelled `%2e`): URL resolution removes such segments, so `/v1/services/{{x}}/restart` with
 * `..` would reach `/v1/restart`; nor may an empty value leave a path starting with `//`, which
 * would name a host. In the scheme or host a value is refused: a ticket does not
 * choose where a request goes. Header lines and the body are encoded as before.
 */
import type { tokenizeTemplate } from "@runwarden/runbook-parser";
import { rwError } from "../errors.js";

type Token = ReturnType<typeof tokenizeTemplate>["tokens"][number];

/** `.`, `..` and their percent-encoded spellings, which WHATWG URL treats as dot segments. */
const dotSegment = /^(?:\.|%2e){1,2}$/i;

type Place = "method" | "authority" | "path" | "query" | "other";

/** Renders an HTTP step; throws RW_ERR_EXEC_TEMPLATE for a value in a place it may not be. */
export function renderHttp(tokens: readonly Token[], values: readonly string[]): string {
  const encoded = tokens.map((token, i) =>
    token.type === "text" ? token.value : encodeValue(token.name, values[i]!),
  );
  // Where each token starts in the template with every reference one character wide.
  const starts: number[] = [];
  let skeleton = "";
  for (const token of tokens) {
    starts.push(skeleton.length);
    skeleton += token.type === "text" ? token.value : "\u0000";
  }
  const line = requestLine(skeleton);
  const places = tokens.map((token, i) =>
    token.type === "reference" ? placeOf(starts[i]!, skeleton, line) : "other",
  );
  tokens.forEach((token, i) => {
    if (token.type !== "reference") return;
    const place = places[i]!;
    if (place === "method") {
      throw httpError(
        `{{${token.name}}} sits in the request method; a value may stand only in the URL's path, its query, a header value or the body`,
        token.name,
      );
    }
    if (place === "authority") {
      throw httpError(
        `{{${token.name}}} sits in the URL's scheme or host: a ticket value may not choose where a request goes; put it in a path segment or a query value`,
        token.name,
      );
    }
    if (place === "path") {
      const segment = renderedSegment(tokens, encoded, starts, skeleton, starts[i]!, line!.target[0]);
      const first = skeleton.lastIndexOf("/", starts[i]!) === line!.target[0];
      if (segment === "" && first && skeleton[line!.target[0]] === "/") {
        throw httpError(
          `{{${token.name}}} leaves the first path segment empty, so the path would start with "//" and name a host; a value in a path segment must name something`,
          token.name,
        );
      }
      if (dotSegment.test(segment)) {
        throw httpError(
          `{{${token.name}}} makes its path segment "." or "..", which URL resolution removes (the request would reach another path); a value in a path segment must name something`,
          token.name,
        );
      }
    }
  });
  return encoded.join("");
}

function encodeValue(name: string, value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    // A lone surrogate has no UTF-8 form.
    throw httpError(`{{${name}}} is not valid Unicode text and cannot be encoded into a URL`, name);
  }
}

interface RequestLine {
  /** The method's span, the target's span and the line's end, in skeleton offsets. */
  method: [number, number];
  target: [number, number];
  end: number;
}

/** The first line that is neither blank nor a `#` comment, as the HTTP connector reads it. */
function requestLine(skeleton: string): RequestLine | undefined {
  let offset = 0;
  for (const text of skeleton.split("\n")) {
    const trimmed = text.trim();
    if (trimmed !== "" && !trimmed.startsWith("#")) {
      const match = /^(\s*)(\S+)(\s+)(\S+)/.exec(text);
      if (!match) return undefined;
      const methodStart = offset + match[1]!.length;
      const targetStart = methodStart + match[2]!.length + match[3]!.length;
      return {
        method: [methodStart, methodStart + match[2]!.length],
        target: [targetStart, targetStart + match[4]!.length],
        end: offset + text.length,
      };
    }
    offset += text.length + 1;
  }
  return undefined;
}

function placeOf(at: number, skeleton: string, line: RequestLine | undefined): Place {
  if (line === undefined || at < line.method[0] || at >= line.end) return "other";
  if (at < line.method[1]) return "method";
  if (at < line.target[0] || at >= line.target[1]) return "method";
  const target = skeleton.slice(line.target[0], line.target[1]);
  const offset = at - line.target[0];
  const pathEnd = firstOf(target, "?#");
  if (offset >= pathEnd) return "query";
  const beforePath = target.slice(0, pathEnd);
  const slash = beforePath.indexOf("/");
  const colon = beforePath.indexOf(":");
  let pathStart = 0;
  if (colon !== -1 && (slash === -1 || colon < slash)) {
    // `scheme:` — and `//authority` when it follows.
    pathStart = colon + 1;
    if (beforePath.startsWith("//", pathStart)) pathStart = authorityEnd(beforePath, pathStart + 2);
  } else if (beforePath.startsWith("//")) {
    pathStart = authorityEnd(beforePath, 2);
  }
  return offset < pathStart ? "authority" : "path";
}

function authorityEnd(text: string, from: number): number {
  const slash = text.indexOf("/", from);
  return slash === -1 ? text.length : slash;
}

function firstOf(text: string, characters: string): number {
  let first = text.length;
  for (const c of characters) {
    const i = text.indexOf(c);
    if (i !== -1 && i < first) first = i;
  }
  return first;
}

/** The rendered text of the path segment (between `/`s) that holds the skeleton offset `at`. */
function renderedSegment(
  tokens: readonly Token[],
  encoded: readonly string[],
  starts: readonly number[],
  skeleton: string,
  at: number,
  targetStart: number,
): string {
  const from = Math.max(targetStart, skeleton.lastIndexOf("/", at) + 1);
  let to = firstOf(skeleton.slice(at), "/?# \t\n");
  to = at + to;
  let out = "";
  tokens.forEach((token, i) => {
    const start = starts[i]!;
    const width = token.type === "text" ? token.value.length : 1;
    const lo = Math.max(from, start);
    const hi = Math.min(to, start + width);
    if (lo >= hi) return;
    out += token.type === "text" ? token.value.slice(lo - start, hi - start) : encoded[i]!;
  });
  return out;
}

function httpError(message: string, reference: string) {
  return rwError("RW_ERR_EXEC_TEMPLATE", message, { details: { reference, reason: "context" } });
}
