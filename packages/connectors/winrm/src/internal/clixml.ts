/**
 * PowerShell started with redirected streams (as over WinRM) writes its error, warning and progress
 * records to stderr as CLIXML (`#< CLIXML` then `<Objs …>`). This turns such a stderr back into the
 * text a person would have seen, as pywinrm's `_clean_error_msg` does: the `S="Error"` strings
 * (and warnings), `_xHHHH_` escapes decoded. Anything that does not parse is left as it was.
 */
import { XMLParser } from "fast-xml-parser";

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  isArray: (name) => name === "S" || name === "Obj",
});

const MARKER = "#< CLIXML";

/** Decodes `_xHHHH_` escapes (CLIXML's encoding of characters such as CR and LF). */
function decodeClixmlEscapes(text: string): string {
  return text.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

/** The readable text of a CLIXML stderr, or `stderr` itself when it is not CLIXML. */
export function cleanClixml(stderr: string): string {
  const start = stderr.indexOf(MARKER);
  if (start !== 0 || /<!DOCTYPE/i.test(stderr)) return stderr;
  const body = stderr.slice(MARKER.length).trim();
  try {
    const doc = parser.parse(body) as { Objs?: { S?: unknown[] } };
    const strings = doc.Objs?.S ?? [];
    const lines: string[] = [];
    for (const s of strings) {
      if (typeof s !== "object" || s === null) continue;
      const kind = (s as Record<string, unknown>)["@_S"];
      const text = (s as Record<string, unknown>)["#text"];
      if ((kind === "Error" || kind === "warning") && typeof text === "string")
        lines.push(decodeClixmlEscapes(text));
    }
    return lines.length > 0 ? lines.join("") : "";
  } catch {
    return stderr;
  }
}
