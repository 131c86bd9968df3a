/**
 * A stand-in for PowerShell in tests (no PowerShell on these machines): it runs only
 * `Write-Output '<verbatim string>'` lines, decoding the literal by PowerShell's rules for
 * single-quoted strings (any of ' ‘ ’ ‚ ‛ ends it unless doubled). A line where a value broke out
 * of its quotes does not match and fails the script.
 */
const QUOTES = new Set(["'", "\u2018", "\u2019", "\u201a", "\u201b"]);
const isQuote = (c: string | undefined) => c !== undefined && QUOTES.has(c);

/** Decodes a whole single-quoted PowerShell string literal, or undefined if `text` is not exactly one. */
export function decodeSingleQuoted(text: string): string | undefined {
  if (!isQuote(text[0])) return undefined;
  let out = "";
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!;
    if (!isQuote(c)) {
      out += c;
      continue;
    }
    if (isQuote(text[i + 1])) {
      out += text[i + 1];
      i++;
      continue;
    }
    return i === text.length - 1 ? out : undefined;
  }
  return undefined;
}

/** Runs the script's `Write-Output '…'` lines. */
export function writeOutputOnly(script: string[]): { stdout: string; stderr: string; failed?: boolean } {
  let stdout = "";
  for (const line of script) {
    const literal = /^Write-Output (.*)$/.exec(line.trim());
    const value = literal ? decodeSingleQuoted(literal[1]!) : undefined;
    if (value === undefined)
      return { stdout, stderr: `not a Write-Output of one literal: ${line}`, failed: true };
    stdout += `${value}\n`;
  }
  return { stdout, stderr: "" };
}
