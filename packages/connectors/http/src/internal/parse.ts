/**
 * Parses an HTTP step (a fenced `http` block): request line `METHOD URL [HTTP/1.1]`, header
 * lines, a blank line, then the body.
 */
import { rwError } from "@runwarden/core";

export interface HttpStep {
  method: string;
  target: string;
  headers: [string, string][];
  body: string | undefined;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the transport owns; a step may not set them. */
const RESERVED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "upgrade",
  "keep-alive",
  "te",
  "trailer",
]);

function invalid(message: string, line: number): never {
  throw rwError("RW_ERR_CONNECTOR_REJECTED", `invalid HTTP step, line ${line}: ${message}`, {
    details: { reason: "request", line },
  });
}

export function parseHttpStep(text: string): HttpStep {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length && (lines[i]!.trim() === "" || lines[i]!.trim().startsWith("#"))) i++;
  const requestLine = lines[i];
  if (requestLine === undefined) invalid("no request line (expected `METHOD URL`)", 1);
  const match = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/\d(?:\.\d)?)?\s*$/.exec(requestLine.trim());
  if (!match)
    invalid("the request line must be `METHOD URL`, e.g. `GET https://api.example.com/health`", i + 1);
  const headers: [string, string][] = [];
  for (i++; i < lines.length && lines[i]!.trim() !== ""; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).trim() : "";
    if (!TOKEN.test(name)) invalid("a header line must be `Name: value`", i + 1);
    if (RESERVED.has(name.toLowerCase())) invalid(`the ${name} header is set by the connector`, i + 1);
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  const body = lines
    .slice(i + 1)
    .join("\n")
    .replace(/\n+$/, "");
  return { method: match[1]!, target: match[2]!, headers, body: body === "" ? undefined : body };
}
