/** Reading request bodies with a size limit, without trusting Content-Length. */
import { rwError } from "@runwarden/core";

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

/** Reads the whole body as bytes, failing with RW_ERR_INPUT_TOO_LARGE past `limit`. */
export async function readBytes(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
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

export async function readText(request: Request, limit: number): Promise<string> {
  return decoder.decode(await readBytes(request, limit));
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
  try {
    return JSON.parse(text);
  } catch {
    throw rwError("RW_ERR_INPUT_MALFORMED", "request body is not valid JSON");
  }
}
