/**
 * A stand-in for PowerShell in tests of connectors that send Windows scripts to a vendor (cloud
 * run-command APIs), where no PowerShell runs: it runs only `Write-Output '<verbatim string>'`
 * lines, decoding the literal by PowerShell's rules for single-quoted strings (any of ' ‘ ’ ‚ ‛
 * ends it unless doubled). A line where a value broke out of its quotes does not match and fails
 * the script, so a test can prove a ticket value reached the script only as one quoted literal.
 */
const QUOTES = new Set(["'", "\u2018", "\u2019", "\u201a", "\u201b"]);
const isQuote = (c: string | undefined) => c !== undefined && QUOTES.has(c);

/**
 * Decodes a whole single-quoted PowerShell string literal (`'it''s'` → `it's`), or answers
 * undefined when `text` is not exactly one such literal.
 */
export function decodePowerShellLiteral(text: string): string | undefined {
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

/** What {@link fakePowerShell} answers: the script's output, and `failed` on a line it refused. */
export interface FakePowerShellResult {
  /** Each `Write-Output` literal, decoded, one per line. */
  stdout: string;
  /** Why the script failed, naming the line; empty on success. */
  stderr: string;
  /** True when a line was not a `Write-Output` of one single-quoted literal. */
  failed?: boolean;
}

/**
 * Runs a script's lines as PowerShell would if every line were `Write-Output '<literal>'`; stops
 * at the first line that is not (fails the script, naming it).
 */
export function fakePowerShell(script: readonly string[]): FakePowerShellResult {
  let stdout = "";
  for (const line of script) {
    const literal = /^Write-Output (.*)$/.exec(line.trim());
    const value = literal ? decodePowerShellLiteral(literal[1]!) : undefined;
    if (value === undefined)
      return { stdout, stderr: `not a Write-Output of one literal: ${line}`, failed: true };
    stdout += `${value}\n`;
  }
  return { stdout, stderr: "" };
}
