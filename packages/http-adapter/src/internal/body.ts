/** Reading request bodies with a size limit, without trusting Content-Length. */
import { maxJsonDepth, rwError } from "@runwarden/core";

export function tooLarge(limit: number): Error {
  return rwError("RW_ERR_INPUT_TOO_LARGE", `request body exceeds the limit of ${limit} bytes`, {
    details: { limitBytes: limit },
  });
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(header: string | undefined | null): string {
  return (header ?? "").split(";", 1)[0]!.trim().toLowerCase();
}

export function isJsonType(type: string): boolean {
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

/**
 * Reads the whole body as bytes, failing with RW_ERR_INPUT_TOO_LARGE past `limit`.
 * `lengthEnforced`: the host's HTTP parser delivers exactly Content-Length bytes (node:http
 * does), so a declared length within the limit is a bound and the body can be read in one go,
 * skipping the web stream the Fetch API would wrap around it.
 */
export async function readBytes(
  request: Request,
  limit: number,
  lengthEnforced = false,
): Promise<Uint8Array> {
  const header = request.headers.get("content-length");
  const declared = Number(header ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  if (lengthEnforced && header !== null && /^\d+$/.test(header)) {
    const bytes = new Uint8Array(await request.arrayBuffer());
    // A body a host middleware re-serialised need not match the header: the limit still holds.
    if (bytes.byteLength > limit) throw tooLarge(limit);
    return bytes;
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

const decoder = new TextDecoder("utf-8");

/** The body as UTF-8 text; see readBytes. */
export async function readText(request: Request, limit: number, lengthEnforced = false): Promise<string> {
  return decoder.decode(await readBytes(request, limit, lengthEnforced));
}

/** True when the request came through node:http (the Node mounts), whose parser enforces Content-Length. */
export function fromNodeHttp(env: unknown): boolean {
  return typeof (env as { incoming?: { socket?: unknown } } | undefined)?.incoming?.socket === "object";
}

/**
 * Reads a JSON body. An empty body is `undefined`; a body that does not parse is
 * RW_ERR_INPUT_MALFORMED; a non-JSON Content-Type is RW_ERR_INPUT_MEDIA_TYPE.
 */
export async function readJson(request: Request, limit: number): Promise<unknown> {
  const type = mediaType(request.headers.get("content-type"));
  const text = await readText(request, limit);
  if (text.trim() === "") return undefined;
  if (type !== "" && !isJsonType(type)) {
    throw rwError("RW_ERR_INPUT_MEDIA_TYPE", `expected application/json, got ${type.slice(0, 100)}`);
  }
  return parseJson(text);
}

/**
 * The nesting depth of JSON text, counted over its brackets outside strings in one pass (no
 * recursion, no parse), stopping as soon as it passes `limit`.
 */
function jsonTextDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/**
 * Parses a JSON request body: RW_ERR_INPUT_MALFORMED when it does not parse or nests deeper than
 * `maxJsonDepth` (checked on the text first, so no parser or serialiser ever recurses that deep).
 */
export function parseJson(text: string): unknown {
  if (jsonTextDepth(text, maxJsonDepth) > maxJsonDepth) {
    throw rwError("RW_ERR_INPUT_MALFORMED", `request body is nested deeper than ${maxJsonDepth} levels`, {
      details: { maxDepth: maxJsonDepth },
    });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw rwError("RW_ERR_INPUT_MALFORMED", "request body is not valid JSON");
  }
}
