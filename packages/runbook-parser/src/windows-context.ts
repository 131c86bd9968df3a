/**
 * Where a template placeholder sits in a PowerShell or cmd step, and whether a ticket value may go
 * there (issue 10's rule, for Windows: a value only where it is provably one inert argument).
 *
 * PowerShell: a value becomes a verbatim single-quoted string — written bare (`Stop-Service
 * {{x}}`, rendered `'…'`) or inside a single-quoted string of the runbook (`'C:\logs\{{x}}.log'`),
 * with `'` (and the typographic single quotes PowerShell also reads as quotes) doubled. Anything
 * else is refused: double-quoted and here-strings (they expand `$(…)`), comments, a value that
 * would name the command (after `&` or `.`, or inside the first bare word of a pipeline element),
 * member access, and every placeholder of a script that runs text as code anywhere
 * (`Invoke-Expression`/`iex`, `[scriptblock]::Create`, `Start-Process`, `powershell`, `cmd`,
 * `Invoke-Command`, `& $variable`, …).
 *
 * cmd: refused everywhere. cmd.exe expands `%VAR%` (and `!VAR!`) inside quotes too, reads `^`,
 * `&`, `|`, `<`, `>` outside them, and each program splits its own command line, so no quoting makes
 * a value one inert argument.
 */
import { type TemplateProblem, tokenizeTemplate } from "./templates.js";

/** Where a placeholder sits in a PowerShell or cmd step. `bare` and `single-quoted` are accepted. */
export type WindowsContext =
  | "bare"
  | "single-quoted"
  | "double-quoted"
  | "here-string"
  | "comment"
  | "command-name"
  | "member"
  | "evaluated"
  | "verbatim"
  | "cmd";

/** One placeholder of a PowerShell or cmd step, and the verdict on it. */
export interface WindowsPlaceholder {
  /** The reference, such as `ticket.service`. */
  name: string;
  /** Offsets of `{{ … }}` in the analysed command. */
  start: number;
  /** Offset just past the closing `}}`. */
  end: number;
  /** The PowerShell or cmd context the placeholder is in. */
  context: WindowsContext;
  /** Whether a value may be substituted here. */
  allowed: boolean;
  /** How an allowed value is written: wrapped in `'…'` (bare), or doubled inside the quotes it is in. */
  quoting: "bare" | "single";
  /**
   * The value is an argument of what looks like a native program (not a `Verb-Noun` cmdlet or
   * function): Windows PowerShell 5.1 passes an embedded `"` to it unescaped, which splits the
   * argument, so the renderer refuses such a value there.
   */
  native: boolean;
  /** Why it is refused and what to write instead (only when `allowed` is false). */
  message?: string;
}

/** What {@link analyzePowerShellTemplate} and {@link analyzeCmdTemplate} return. */
export interface WindowsTemplateAnalysis {
  /** Every placeholder, in order. */
  placeholders: WindowsPlaceholder[];
  /** Template syntax problems (unclosed `{{`, …). */
  problems: TemplateProblem[];
}

/** Commands, aliases and types that run text as code or start programs with a command line. */
const evaluating = new Set([
  "iex",
  "invoke-expression",
  "invoke-command",
  "icm",
  "start-process",
  "saps",
  "start",
  "start-job",
  "sajb",
  "start-threadjob",
  "powershell",
  "powershell.exe",
  "pwsh",
  "pwsh.exe",
  "cmd",
  "cmd.exe",
  "invoke-item",
  "ii",
  "add-type",
  "scriptblock",
  "system.management.automation.scriptblock",
  "expandstring",
  "newscriptblock",
  "invokescript",
  "invoke-wmimethod",
  "invoke-cimmethod",
  "new-object",
  "set-alias",
  "new-alias",
  "sal",
  "nal",
  "wscript",
  "cscript",
  "mshta",
  "rundll32",
  "regsvr32",
  "schtasks",
  "register-scheduledtask",
  "new-scheduledtaskaction",
  "wsl",
  "bash",
  "sh",
  "psexec",
  "winrs",
]);

const refusals: Record<Exclude<WindowsContext, "bare" | "single-quoted">, string> = {
  "double-quoted":
    "PowerShell expands $(…) and $variables inside double quotes; put the placeholder in single quotes instead, such as `Get-Item 'C:/logs/{{x}}.log'`, or write it bare: it is quoted for you",
  "here-string":
    "here-strings are not analysed; write the value in a single-quoted string on one line instead",
  comment: "a placeholder in a comment does nothing (and could end a <# #> comment); remove it",
  "command-name":
    "after & or . a ticket value would choose the command (or script) that runs; write the command yourself and pass the value as an argument, such as `& C:\\fix.ps1 {{x}}`",
  member:
    "a ticket value would choose the property or method that is used; write the member name yourself and pass the value as an argument",
  evaluated:
    "the script runs text as code or starts a program with a command line somewhere (Invoke-Expression, [scriptblock]::Create, Start-Process, powershell, cmd, Invoke-Command, & $variable, …), so the value could become code; keep such a step free of ticket values and pass the value to a script or cmdlet that takes it as data",
  verbatim:
    "after the stop-parsing token --% PowerShell passes the rest of the line to the program as it is written, expanding %VARIABLES%; put the placeholder before --% or pass the value to a script",
  cmd: "cmd steps cannot take ticket values: cmd.exe expands %VAR% inside quotes and every program splits its own command line, so no quoting makes a value one inert argument; use a powershell step, with the placeholder bare or in single quotes",
};

/** cmd: every placeholder is refused. */
export function analyzeCmdTemplate(command: string): WindowsTemplateAnalysis {
  const { tokens, problems } = tokenizeTemplate(command);
  const placeholders: WindowsPlaceholder[] = [];
  for (const t of tokens)
    if (t.type === "reference")
      placeholders.push({
        name: t.name,
        start: t.start,
        end: t.end,
        context: "cmd",
        allowed: false,
        quoting: "bare",
        native: true,
        message: `{{${t.name}}}: ${refusals.cmd}`,
      });
  return { placeholders, problems };
}

const singleQuotes = new Set(["'", "\u2018", "\u2019", "\u201a", "\u201b"]);
const doubleQuotes = new Set(['"', "\u201c", "\u201d", "\u201e"]);

type State =
  | "code"
  | "single"
  | "double"
  | "line-comment"
  | "block-comment"
  | "here-single"
  | "here-double"
  | "verbatim";

interface Pending {
  name: string;
  start: number;
  end: number;
  context: WindowsContext;
  statement: number;
  native: boolean;
}

/**
 * Analyses a PowerShell command: the context of each placeholder and whether a value may go
 * there. Exact for the contexts it accepts; anything it cannot follow is refused.
 */
export function analyzePowerShellTemplate(command: string): WindowsTemplateAnalysis {
  const { tokens, problems } = tokenizeTemplate(command);
  let state: State = "code";
  let statement = 0;
  /** Code-level text of each statement, for the evaluating-command check. */
  const statements: string[] = [""];
  const pending: Pending[] = [];
  /** The next word is in command position (statement start, after `|`, `(`, `{`, `=`). */
  let atCommand = true;
  /** The word being read: whether it began in command position, and with a bare character. */
  let word: { command: boolean; bare: boolean; after: string } | undefined;
  /** The last non-blank code character before the current word (`&`, `.`, `$`, …). */
  let before = "";
  let lastCode = "";
  /** Context a single-quoted string's placeholders get, decided when the string opens. */
  let stringContext: WindowsContext = "single-quoted";
  let afterBare: Pending | undefined;

  const code = (c: string) => {
    statements[statement] += c;
  };
  const endStatement = () => {
    statement++;
    statements.push("");
    atCommand = true;
    word = undefined;
    before = "";
    lastCode = "";
    commandWord = null;
    capturing = false;
  };
  /** The context of a value starting or continuing the current word. */
  const wordContext = (): WindowsContext => {
    if (word === undefined) {
      if (before === "&" || before === ".") return "command-name";
      return "bare";
    }
    if (/[.$@:]/.test(lastCode)) return "member";
    if (word.after === "&" || word.after === ".") return "command-name";
    if (word.command && word.bare) return "command-name";
    return "bare";
  };
  /** The command word of the current pipeline element, as written (null: an expression, or unknown). */
  let commandWord: string | null = null;
  let capturing = false;
  const startWord = (bare: boolean) => {
    if (word === undefined) {
      word = { command: atCommand, bare, after: before };
      if (atCommand) {
        commandWord = bare ? "" : null;
        capturing = bare;
      }
      atCommand = false;
    }
  };
  const native = () =>
    commandWord !== null && !commandWord.startsWith("$") && !/^[A-Za-z]+-[A-Za-z0-9]+$/.test(commandWord);

  for (const token of tokens) {
    if (token.type === "reference") {
      const base = { name: token.name, start: token.start, end: token.end, statement, native: native() };
      capturing = false;
      if (state === "verbatim") pending.push({ ...base, context: "verbatim" });
      else if (state === "single") pending.push({ ...base, context: stringContext });
      else if (state === "double") pending.push({ ...base, context: "double-quoted" });
      else if (state === "here-single" || state === "here-double")
        pending.push({ ...base, context: "here-string" });
      else if (state === "line-comment" || state === "block-comment")
        pending.push({ ...base, context: "comment" });
      else {
        const p = { ...base, context: wordContext() };
        pending.push(p);
        startWord(false);
        afterBare = p;
        code("'v'");
        lastCode = "'";
      }
      continue;
    }
    const text = token.value;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      const next = text[i + 1];
      if (afterBare) {
        // `{{x}}(…)`, `{{x}}.Member` and `{{x}}[…]` would call or index into the value.
        if ((c === "(" || c === "." || c === "[") && afterBare.context === "bare")
          afterBare.context = "member";
        afterBare = undefined;
      }
      switch (state) {
        case "code":
          if (singleQuotes.has(c)) {
            stringContext = wordContext() === "bare" ? "single-quoted" : wordContext();
            startWord(false);
            state = "single";
            code("'");
          } else if (doubleQuotes.has(c)) {
            startWord(false);
            state = "double";
            code('"');
          } else if (
            c === "@" &&
            next !== undefined &&
            (singleQuotes.has(next) || doubleQuotes.has(next)) &&
            /^[ \t]*(\r?\n|$)/.test(text.slice(i + 2))
          ) {
            startWord(false);
            state = singleQuotes.has(next) ? "here-single" : "here-double";
            i++;
          } else if (c === "<" && next === "#") {
            state = "block-comment";
            i++;
          } else if (c === "#" && word === undefined) {
            state = "line-comment";
          } else if (c === ";" || c === "\n" || (c === "&" && next === "&") || (c === "|" && next === "|")) {
            if (c === "&" || c === "|") i++;
            endStatement();
          } else if (c === "-" && text.startsWith("--%", i) && word === undefined) {
            state = "verbatim";
            i += 2;
          } else if (/\s/.test(c)) {
            if (word !== undefined) before = lastCode;
            word = undefined;
            capturing = false;
            code(" ");
          } else if (
            c === "|" ||
            c === "(" ||
            c === "{" ||
            c === "}" ||
            c === ")" ||
            c === "," ||
            (c === "=" && next !== "=")
          ) {
            word = undefined;
            capturing = false;
            atCommand = c !== "," && c !== ")" && c !== "}";
            before = c;
            lastCode = c;
            code(c);
          } else if (
            (c === "&" || c === ".") &&
            word === undefined &&
            (next === undefined || /\s/.test(next))
          ) {
            // The call and dot-source operators: the next word names what runs.
            before = c;
            lastCode = c;
            code(c);
          } else {
            if (c === "`") {
              code(c + (next ?? ""));
              i++;
            } else code(c);
            startWord(true);
            if (capturing) commandWord = `${commandWord ?? ""}${c}`;
            lastCode = c;
          }
          break;
        case "single":
          if (singleQuotes.has(c)) {
            if (next !== undefined && singleQuotes.has(next)) i++;
            else {
              state = "code";
              code("'");
              lastCode = "'";
            }
          }
          break;
        case "double":
          if (c === "`") i++;
          else if (doubleQuotes.has(c)) {
            if (next !== undefined && doubleQuotes.has(next)) i++;
            else {
              state = "code";
              code('"');
              lastCode = '"';
            }
          } else code(c === "\n" ? " " : c === "$" ? " " : c);
          break;
        case "verbatim":
          if (c === "\n") {
            state = "code";
            endStatement();
          }
          break;
        case "line-comment":
          if (c === "\n") {
            state = "code";
            endStatement();
          }
          break;
        case "block-comment":
          if (c === "#" && next === ">") {
            state = "code";
            i++;
          }
          break;
        case "here-single":
        case "here-double":
          if (
            c === "\n" &&
            next !== undefined &&
            (singleQuotes.has(next) || doubleQuotes.has(next)) &&
            text[i + 2] === "@"
          ) {
            state = "code";
            i += 2;
          }
          break;
      }
    }
  }
  // A string or comment left open makes every placeholder uncertain.
  const unterminated = state !== "code" && state !== "line-comment" && state !== "verbatim";
  // The whole script counts: a function defined in one statement can evaluate what another passes.
  const codeText = statements.join("\n").toLowerCase();
  const evaluates =
    codeText
      .split(/[^a-z0-9_.:-]+|::/)
      .some((w) =>
        evaluating.has(w.replace(/^[.:]+|[.:]+$/g, "").replace(/^system\.management\.automation\./, "")),
      ) || /(^|[^&])&\s*\$/.test(codeText);
  const placeholders = pending.map((p): WindowsPlaceholder => {
    let context = p.context;
    if ((context === "bare" || context === "single-quoted") && evaluates) context = "evaluated";
    const accepted = context === "bare" || context === "single-quoted";
    const allowed = accepted && !unterminated;
    const reason = allowed
      ? undefined
      : accepted
        ? "a string, here-string or <# #> comment is not closed, so where the value lands cannot be known; close it"
        : refusals[context as Exclude<WindowsContext, "bare" | "single-quoted">];
    return {
      name: p.name,
      start: p.start,
      end: p.end,
      context,
      allowed,
      quoting: context === "single-quoted" ? "single" : "bare",
      native: p.native,
      ...(reason ? { message: `{{${p.name}}}: ${reason}` } : {}),
    };
  });
  return { placeholders, problems };
}

/** Doubles every single quote PowerShell recognises, for a value inside `'…'`. */
export function powerShellSingleQuoted(value: string): string {
  return value.replace(/['\u2018\u2019\u201a\u201b]/g, "$&$&");
}
