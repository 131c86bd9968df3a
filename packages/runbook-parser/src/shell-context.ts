/**
 * Where each `{{ placeholder }}` of a shell step sits, and whether a ticket value may go there.
 *
 * The parser (lint time) and core's renderer (render time) both call {@link analyzeShellTemplate},
 * so the runbook that loads is the runbook that renders.
 *
 * **The contexts are an allow-list.** A placeholder is accepted only where the shell provably
 * reads the substituted text as (part of) one inert word: an argument of a simple command whose
 * name is a literal word, written bare (`rm -- {{x}}`, `--name={{x}}`), inside single quotes
 * (`'{{x}}'`) or inside double quotes (`"{{x}}"`), at the top level of the script or of a
 * `$( … )`, `( … )`, `{ …; }`, `if`/`while` body, or after `;`, `&&`, `||`, `|`, `&`. Every other
 * place is refused: the command name, assignments, redirection targets, arithmetic (`$(( ))`,
 * `(( ))`, `$[ ]`, `let`), `[[ ]]`, `${ … }`, here-documents, `$'…'`, `$"…"`, backticks,
 * comments, `case`, `for` word lists, brace expansion, unquoted `$( … )` whose output is split,
 * and everything after a construct this analyser does not follow (a here-document, `case`, a
 * function definition, a backtick or `${ … }` holding quotes or backslashes). Refusing what it
 * does not understand is the point: a new shell feature is refused until someone models it.
 *
 * **The evaluating commands are a list, and necessarily so.** Whether a program treats an
 * argument as code (`sh -c`, `eval`, `awk`, `ssh host …`, `find -exec`, `sed`'s `e` command,
 * `read`'s array subscripts) is that program's business, not the shell's grammar, so no grammar
 * can decide it. {@link evaluatingCommands} names the ones we know; the arguments of those, of
 * any command behind a wrapper we look through (`sudo`, `env`, `timeout`, `nice`, …), and of any
 * command line where one of those names appears before the placeholder (`docker exec c sh -c …`)
 * are refused. A program missing from the list is a bug to report, and the reason the docs tell
 * authors to pass ticket values to a script they wrote (`./fix.sh {{ticket.x}}`). The lists live
 * in internal/shell-commands.ts; this file is the grammar.
 *
 * Over 500 lines on purpose: it is one lexer-driven state machine (quotes, nesting, command
 * position, the allow-list) whose states read each other; the tables are already apart.
 *
 * Option injection is decided at render time, when the value is known: a value starting with `-`
 * where it begins a word is refused unless a `--` argument precedes it in its simple command
 * ({@link ShellPlaceholder.leadsWord}, {@link ShellPlaceholder.afterEndOfOptions}).
 *
 * Over 500 lines: one lexer; the shell grammar it follows reads best in one place (the command
 * lists live in internal/shell-commands.ts).
 */
import {
  argumentVerdict,
  basename,
  isPipeSink,
  reparsingCommands,
  wrappers,
} from "./internal/shell-commands.js";
import { type TemplateProblem, tokenizeTemplate } from "./templates.js";

export { evaluatingCommands } from "./internal/shell-commands.js";

/** Where a placeholder sits in a shell command. The first three are the only accepted ones. */
export type ShellContext =
  | "argument"
  | "single-quoted"
  | "double-quoted"
  | "command-name"
  | "assignment"
  | "redirection"
  | "evaluated-argument"
  | "arithmetic"
  | "conditional"
  | "parameter-expansion"
  | "here-document"
  | "ansi-c-string"
  | "locale-string"
  | "backticks"
  | "comment"
  | "case"
  | "for-list"
  | "brace-expansion"
  | "split-substitution"
  | "unparsed";

/** One placeholder of a shell command, and the analyser's verdict on it. */
export interface ShellPlaceholder {
  /** The reference, such as `ticket.service`. */
  name: string;
  /** Offsets of `{{ … }}` in the analysed command. */
  start: number;
  /** Offset just past the closing `}}`. */
  end: number;
  /** The shell context the placeholder is in (bare word, quotes, here-document, …). */
  context: ShellContext;
  /** Whether a value may be substituted here. */
  allowed: boolean;
  /** How to substitute an allowed value: as a single-quoted word, or escaped for the quotes it is in. */
  quoting: "bare" | "single" | "double";
  /** Index of the shell word the placeholder belongs to (placeholders of one word share it). */
  word: number;
  /** No literal character precedes the placeholder in its word: a value starting with `-` would be an option. */
  leadsWord: boolean;
  /** A plain `--` argument precedes the placeholder in its simple command. */
  afterEndOfOptions: boolean;
  /** The command the value is an argument of, when known (for messages). */
  command?: string;
  /** Why the placeholder is refused and what to write instead (only when `allowed` is false). */
  message?: string;
}

/** What {@link analyzeShellTemplate} returns. */
export interface ShellTemplateAnalysis {
  /** Every placeholder, in order. */
  placeholders: ShellPlaceholder[];
  /** Template syntax problems (unclosed `{{`, …), as {@link tokenizeTemplate} reports them. */
  problems: TemplateProblem[];
}

/** Shell reserved words after which the next word is again in command position. */
const commandPrefixWords = new Set(["if", "then", "else", "elif", "do", "while", "until", "!"]);
/** Reserved words that end a compound command. */
const closingWords = new Set(["fi", "done", "esac"]);

const refusals: Record<Exclude<ShellContext, "argument" | "single-quoted" | "double-quoted">, string> = {
  "command-name":
    "a ticket value would choose the command that runs; write the command yourself and pass the value as an argument, such as `./fix.sh {{x}}`",
  assignment:
    "a value assigned to a variable can be evaluated later (integer variables, array subscripts); pass it as an argument instead, such as `./fix.sh {{x}}`, and read it from $1",
  redirection:
    "a ticket value would choose the file the shell reads or writes; use a fixed path, or pass the value as an argument to a script that checks it",
  "evaluated-argument":
    "runs its arguments as code (or as a command line), so the value would become code; pass it as a plain argument to a script instead, such as `./fix.sh {{x}}`",
  arithmetic:
    "arithmetic evaluates the value as an expression and runs any $(…) inside it; pass the value to a script that checks it is a number, such as `./fix.sh {{x}}`",
  conditional:
    'operands of [[ ]] are patterns or arithmetic; compare with [ ] (the test command) instead, such as `[ "$a" = {{x}} ]`',
  "parameter-expansion":
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a JavaScript template
    "the value would be expanded as part of ${…}; write it as an argument of its own, outside the ${…}",
  "here-document":
    "the shell expands here-documents, and this analyser does not follow the text after `<<`; pipe the value in instead, such as `printf '%s\\n' {{x}} | cmd`, before any here-document",
  "ansi-c-string": "$'…' interprets escape sequences in the value; use '…' or \"…\" instead",
  "locale-string": '$"…" looks the text up in a message catalogue; use "…" instead',
  backticks: "backticks re-read the value as shell code; use $( … ) instead",
  comment: "a placeholder in a comment does nothing; remove it or move it out of the comment",
  case: "this analyser does not follow case statements; put the logic in a script and pass the value as an argument, such as `./fix.sh {{x}}`",
  "for-list":
    "the words of a for loop are split and expanded; loop in a script and pass the value as an argument, such as `./fix.sh {{x}}`",
  "brace-expansion":
    "a word with {…} brace expansion becomes several arguments; write the value as a word of its own",
  "split-substitution":
    'the output of an unquoted $( … ) is split into words and expanded as a glob; put the substitution in double quotes: "$( … )"',
  unparsed:
    "this analyser does not follow the shell text before it, so it cannot prove the value stays one inert word; move the placeholder before that construct, or pass the value to a script, such as `./fix.sh {{x}}`",
};

/** The marker standing for a placeholder in the lexed text (a NUL never reaches a shell). */
const HOLE = "\u0000";

interface Word {
  /** The word's literal text so far (quotes removed). */
  text: string;
  started: boolean;
  /** No quoting, escapes, expansions or placeholders: a candidate reserved word or `--`. */
  plain: boolean;
  /** No expansions or placeholders (quotes allowed): its text is what the command sees. */
  literal: boolean;
  /** Literal characters seen so far (quote characters excluded). */
  content: boolean;
  /** An unquoted `{` appeared: brace expansion may split the word. */
  brace: boolean;
  /** Text before the first unquoted `=`, when the word can still be an assignment. */
  assignPrefix: string | undefined;
  holes: {
    index: number;
    quoting: ShellPlaceholder["quoting"];
    leads: boolean;
    refused?: ShellContext;
    command?: string;
  }[];
}

interface CommandState {
  /** What the next word is. */
  expect: "command" | "args" | "ended" | "for";
  /** The next word is a redirection target. */
  redirect: boolean;
  /** Literal text of the words after the command name (undefined: not literal), name first. */
  words: (string | undefined)[];
  endOfOptions: boolean;
  /** Inside `[[ … ]]`. */
  conditional: boolean;
}

type Frame =
  | {
      kind: "list";
      /** What closes it: `)` for `$( … )`/`( … )`/`<( … )`, `}` for `{ …; }`, "" at top level. */
      closer: ")" | "}" | "";
      /** Set when every placeholder inside is refused because of where the frame's output goes. */
      taint?: ShellContext;
      taintCommand?: string;
      cmd: CommandState;
      word: Word;
      /** Every placeholder classified in this list, nested lists included. */
      holes: number[];
      /** Placeholders of the current pipeline, whose output may flow into a later command's stdin. */
      piped: number[];
      /** The current command reads the pipeline's output. */
      afterPipe: boolean;
      /** A compound command reads the pipe: it stays piped to the end of the list. */
      stickyPipe: boolean;
    }
  | { kind: "sq" }
  | { kind: "dq"; locale: boolean };

type ListFrame = Extract<Frame, { kind: "list" }>;

/**
 * Finds the shell context of every placeholder in a command template and whether a ticket value
 * may be substituted there. Pure; never throws.
 * @experimental
 */
export function analyzeShellTemplate(command: string): ShellTemplateAnalysis {
  const { tokens, problems } = tokenizeTemplate(command);
  const placeholders: ShellPlaceholder[] = [];
  let text = "";
  for (const token of tokens) {
    if (token.type === "text") text += token.value.replaceAll(HOLE, " ");
    else {
      placeholders.push({
        name: token.name,
        start: token.start,
        end: token.end,
        context: "unparsed",
        allowed: false,
        quoting: "bare",
        word: -1,
        leadsWord: false,
        afterEndOfOptions: false,
      });
      text += HOLE;
    }
  }
  if (placeholders.length > 0) {
    try {
      new Lexer(text, placeholders).run();
    } catch {
      // A bug in the analyser must never let a value through: refuse every placeholder.
      for (const p of placeholders) {
        p.allowed = false;
        p.context = "unparsed";
        delete p.message;
      }
    }
  }
  for (const p of placeholders) {
    if (!p.allowed && p.message === undefined) p.message = describe(p);
  }
  return { placeholders, problems };
}

/** The refusal message for a placeholder: where it is, why that is unsafe, what to write instead. */
function describe(p: ShellPlaceholder): string {
  const context = p.context as keyof typeof refusals;
  const why = (refusals[context] ?? refusals.unparsed).replaceAll("{{x}}", `{{${p.name}}}`);
  const where =
    p.context === "evaluated-argument" && p.command
      ? `an argument of \`${p.command}\`, which`
      : label(p.context);
  return `{{${p.name}}} sits in ${where}${p.context === "evaluated-argument" ? " " : ": "}${why}`;
}

function label(context: ShellContext): string {
  switch (context) {
    case "command-name":
      return "the command-name position";
    case "assignment":
      return "a variable assignment";
    case "redirection":
      return "a redirection target";
    case "evaluated-argument":
      return "an argument of a command that";
    case "arithmetic":
      return "an arithmetic context";
    case "conditional":
      return "a [[ ]] conditional";
    case "parameter-expansion":
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a JavaScript template
      return "a parameter expansion (${…}, or right after a $)";
    case "here-document":
      return "a here-document (or after one)";
    case "ansi-c-string":
      return "a $'…' string";
    case "locale-string":
      return 'a $"…" string';
    case "backticks":
      return "a backtick substitution";
    case "comment":
      return "a comment";
    case "case":
      return "a case statement (or after one)";
    case "for-list":
      return "the word list of a for loop";
    case "brace-expansion":
      return "a word with brace expansion";
    case "split-substitution":
      return "an unquoted $( … ) in an argument";
    default:
      return "a place the analyser cannot follow";
  }
}

function newWord(): Word {
  return {
    text: "",
    started: false,
    plain: true,
    literal: true,
    content: false,
    brace: false,
    assignPrefix: "",
    holes: [],
  };
}

/** Quoting, an expansion or a placeholder before any `=`: the word is not an assignment. */
function noAssignment(word: Word): void {
  if (word.assignPrefix !== undefined && !word.assignPrefix.includes("=")) word.assignPrefix = undefined;
}

function newCommand(): CommandState {
  return { expect: "command", redirect: false, words: [], endOfOptions: false, conditional: false };
}

class Lexer {
  readonly s: string;
  readonly placeholders: ShellPlaceholder[];
  i = 0;
  hole = 0;
  wordCount = 0;
  stack: Frame[];
  /** Set once the lexer meets a construct it does not follow: every later placeholder is refused. */
  poisoned: ShellContext | undefined;

  constructor(text: string, placeholders: ShellPlaceholder[]) {
    this.s = text;
    this.placeholders = placeholders;
    this.stack = [this.newList("")];
  }

  newList(closer: ListFrame["closer"], taint?: ShellContext, taintCommand?: string): ListFrame {
    const frame: ListFrame = {
      kind: "list",
      closer,
      cmd: newCommand(),
      word: newWord(),
      holes: [],
      piped: [],
      afterPipe: false,
      stickyPipe: false,
    };
    if (taint !== undefined) frame.taint = taint;
    if (taintCommand !== undefined) frame.taintCommand = taintCommand;
    return frame;
  }

  top(): Frame {
    return this.stack[this.stack.length - 1]!;
  }

  /** The innermost command list, the one the current word belongs to. */
  list(): ListFrame {
    for (let k = this.stack.length - 1; k >= 0; k--) {
      const frame = this.stack[k]!;
      if (frame.kind === "list") return frame;
    }
    return this.stack[0] as ListFrame;
  }

  /** A `( … )` or `{ …; }` starting now: its commands read what the enclosing pipeline feeds it. */
  pushCompound(parent: ListFrame, closer: ")" | "}"): void {
    const child = this.newList(closer, parent.taint ?? this.poisoned, parent.taintCommand);
    if (parent.afterPipe) {
      child.piped = parent.piped;
      child.afterPipe = true;
      child.stickyPipe = true;
    }
    this.stack.push(child);
  }

  /** Leaves a nested list; its placeholders join the enclosing pipeline. */
  popList(): void {
    const child = this.stack.pop() as ListFrame;
    const parent = this.list();
    parent.holes.push(...child.holes);
    if (child.piped !== parent.piped) parent.piped.push(...child.holes);
  }

  /** Ends a pipeline at `;`, `&`, `&&`, `||` or a newline. */
  endPipeline(frame: ListFrame): void {
    frame.cmd = newCommand();
    if (frame.stickyPipe) return;
    frame.piped = [];
    frame.afterPipe = false;
  }

  /** A command that reads code from stdin got the pipeline's output: refuse what flowed into it. */
  refusePiped(frame: ListFrame, sink: string): void {
    for (const index of frame.piped) {
      const p = this.placeholders[index]!;
      if (!p.allowed) continue;
      p.allowed = false;
      p.context = "evaluated-argument";
      p.command = sink;
      p.message = `{{${p.name}}} flows through a pipe into \`${sink}\`, which reads code from its input, so the value would become code; pass it as a plain argument to a script instead, such as \`./fix.sh {{${p.name}}}\``;
    }
  }

  /** Refuses a placeholder outright (it is inside a construct no value may enter). */
  refuse(index: number, context: ShellContext): void {
    const p = this.placeholders[index]!;
    p.context = this.poisoned ?? context;
    p.allowed = false;
  }

  /** Consumes a placeholder found at the current position in the current word. */
  takeHole(quoting: ShellPlaceholder["quoting"], refused?: ShellContext): void {
    const index = this.hole++;
    const list = this.list();
    const word = list.word;
    word.started = true;
    word.plain = false;
    word.literal = false;
    noAssignment(word);
    const entry: Word["holes"][number] = { index, quoting, leads: !word.content };
    const context = this.poisoned ?? refused ?? list.taint;
    if (context !== undefined) entry.refused = context;
    if (refused === undefined && list.taintCommand !== undefined) entry.command = list.taintCommand;
    word.holes.push(entry);
  }

  /** Skips placeholders inside a region no value may enter, refusing them. */
  refuseHolesIn(from: number, to: number, context: ShellContext): void {
    for (let k = from; k < to; k++) if (this.s[k] === HOLE) this.refuse(this.hole++, context);
  }

  run(): void {
    const s = this.s;
    while (this.i < s.length) {
      const frame = this.top();
      if (frame.kind === "sq") this.singleQuoted();
      else if (frame.kind === "dq") this.doubleQuoted(frame);
      else this.unquoted(frame);
    }
    const last = this.top();
    if (last.kind === "list") this.endWord(last); // may close a `{ …; }`
    if (this.stack.length > 1) this.unterminated = true;
    // An unterminated quote or substitution: the shell would not run it as written, and the
    // analyser cannot say where anything ends; refuse every placeholder.
    if (this.unterminated) {
      for (const p of this.placeholders) {
        p.allowed = false;
        p.context = "unparsed";
        delete p.message;
      }
    }
  }

  /** A quote, substitution or region never closed. */
  unterminated = false;

  singleQuoted(): void {
    const s = this.s;
    const word = this.list().word;
    while (this.i < s.length) {
      const c = s[this.i]!;
      this.i++;
      if (c === "'") {
        this.stack.pop();
        return;
      }
      if (c === HOLE) this.takeHole("single");
      else {
        word.text += c;
        word.content = true;
      }
    }
    this.unterminated = true;
  }

  doubleQuoted(frame: Extract<Frame, { kind: "dq" }>): void {
    const s = this.s;
    const word = this.list().word;
    while (this.i < s.length) {
      const c = s[this.i]!;
      const next = s[this.i + 1];
      if (c === '"') {
        this.i++;
        this.stack.pop();
        return;
      }
      if (c === HOLE) {
        this.i++;
        this.takeHole("double", frame.locale ? "locale-string" : undefined);
        continue;
      }
      if (c === "\\") {
        if (next === HOLE) {
          this.i += 2;
          this.takeHole("double", "unparsed");
        } else if (next !== undefined) {
          word.text += '\\$`"\n'.includes(next) ? next : c + next;
          word.content = true;
          this.i += 2;
        } else this.i++;
        continue;
      }
      if (c === "`") {
        this.region("backticks");
        continue;
      }
      if (c === "$") {
        if (this.dollar(true)) return;
        continue;
      }
      word.text += c;
      word.content = true;
      this.i++;
    }
    this.unterminated = true;
  }

  /**
   * Handles `$` at the current position. Returns true when it pushed a frame the caller must
   * yield to. Inside double quotes `quoted` is true.
   */
  dollar(quoted: boolean): boolean {
    const s = this.s;
    const next = s[this.i + 1];
    const list = this.list();
    const word = list.word;
    word.started = true;
    word.plain = false;
    noAssignment(word);
    if (next === HOLE) {
      // `$` right before a value: in "…" a value starting with ( or { would be a substitution,
      // bare it would make $'…' of the quoted value.
      this.i += 2;
      word.literal = false;
      this.takeHole(quoted ? "double" : "bare", "parameter-expansion");
      return false;
    }
    if (next === "(" && s[this.i + 2] === "(") {
      word.literal = false;
      this.region("arithmetic");
      return false;
    }
    if (next === "(") {
      word.literal = false;
      this.i += 2;
      // Everything inside a refused substitution is refused; otherwise, where its output goes decides.
      const taint =
        list.taint !== undefined
          ? { context: list.taint, command: list.taintCommand }
          : this.outputTaint(list, quoted);
      this.stack.push(this.newList(")", taint?.context, taint?.command));
      return true;
    }
    if (next === "{") {
      word.literal = false;
      this.region("parameter-expansion");
      return false;
    }
    if (next === "[") {
      word.literal = false;
      this.region("arithmetic");
      return false;
    }
    if (next === "'" && !quoted) {
      this.region("ansi-c-string");
      word.literal = false;
      return false;
    }
    if (next === '"' && !quoted) {
      this.i += 2;
      word.literal = false;
      this.stack.push({ kind: "dq", locale: true });
      return true;
    }
    if (next !== undefined && /[A-Za-z0-9_@*#?$!-]/.test(next)) {
      word.literal = false;
      this.i += 2;
      if (/[A-Za-z_]/.test(next)) while (this.i < s.length && /[A-Za-z0-9_]/.test(s[this.i]!)) this.i++;
      return false;
    }
    word.text += "$";
    word.content = true;
    this.i++;
    return false;
  }

  /** Where the output of a `$( … )` starting now in the current word goes, if that is unsafe. */
  outputTaint(list: ListFrame, quoted: boolean): { context: ShellContext; command?: string } | undefined {
    const cmd = list.cmd;
    if (this.poisoned) return { context: this.poisoned };
    if (cmd.redirect) return { context: "redirection" };
    if (cmd.conditional) return { context: "conditional" };
    if (cmd.expect === "for") return { context: "for-list" };
    if (cmd.expect === "command") {
      return { context: list.word.assignPrefix?.includes("=") ? "assignment" : "command-name" };
    }
    if (cmd.expect === "ended") return { context: "unparsed" };
    const verdict = argumentVerdict(cmd.words);
    if (verdict.refused) return { context: verdict.context, command: verdict.command };
    if (!quoted) return { context: "split-substitution" };
    return undefined;
  }

  /**
   * Skips a construct no value may enter (`$(( ))`, `${ }`, backticks, …), refusing placeholders
   * inside it. When its end cannot be found without modelling quotes inside it, every later
   * placeholder is refused too.
   */
  region(context: ShellContext): void {
    const s = this.s;
    const from = this.i;
    let i = this.i;
    let clean = true;
    let end = -1;
    if (context === "backticks") {
      for (i = from + 1; i < s.length; i++) {
        if (s[i] === "\\") clean = false;
        if (s[i] === "`" && s[i - 1] !== "\\") {
          end = i + 1;
          break;
        }
      }
    } else if (context === "ansi-c-string") {
      for (i = from + 2; i < s.length; i++) {
        if (s[i] === "\\") {
          clean = false;
          i++;
        } else if (s[i] === "'") {
          end = i + 1;
          break;
        }
      }
    } else if (context === "comment") {
      end = s.indexOf("\n", from);
      if (end === -1) end = s.length;
    } else {
      // `$(( ))`, `(( ))`, `$[ ]`, `${ }`: count the brackets; quotes, escapes and nested
      // command substitutions inside are not followed. dash knows neither `(( ))` (it reads
      // nested subshells) nor `$[ ]` (plain words): operators, comments or line ends inside them
      // would end or split the command differently there, so the analyser stops following.
      const open = s[from] === "$" ? s[from + 1]! : s[from]!;
      const close = open === "(" ? ")" : open === "[" ? "]" : "}";
      const bashOnly = (s[from] === "(" && s[from + 1] === "(") || open === "[";
      let depth = 0;
      for (i = s[from] === "$" ? from + 1 : from; i < s.length; i++) {
        const c = s[i]!;
        if (c === "'" || c === '"' || c === "\\" || c === "`") clean = false;
        if (c === "$" && s[i + 1] === "(" && s[i + 2] !== "(") clean = false;
        if (c === "#" && /\s/.test(s[i - 1] ?? " ")) clean = false;
        if (bashOnly && ";&|<>\n".includes(c)) clean = false;
        if (c === open) depth++;
        else if (c === close) {
          depth--;
          if (depth === 0) {
            end = i + 1;
            break;
          }
        }
      }
      if (end !== -1 && open === "(" && (s[from] === "$" || s[from] === "(") && s[end - 2] !== ")")
        clean = false;
    }
    if (end === -1) {
      end = s.length;
      clean = false;
      this.unterminated = true;
    }
    this.refuseHolesIn(from, end, context);
    if (!clean && this.poisoned === undefined) this.poisoned = "unparsed";
    this.i = end;
  }

  unquoted(frame: ListFrame): void {
    const s = this.s;
    const c = s[this.i]!;
    const next = s[this.i + 1];
    const word = frame.word;
    const cmd = frame.cmd;
    if (c === HOLE) {
      this.i++;
      this.takeHole("bare");
      return;
    }
    if (c === " " || c === "\t") {
      this.i++;
      this.endWord(frame);
      return;
    }
    if (c === "\n") {
      this.i++;
      const after = this.endWord(frame);
      if (!after.cmd.conditional) this.endPipeline(after);
      return;
    }
    if (c === "#" && !word.started) {
      this.region("comment");
      return;
    }
    if (c === "\\") {
      if (next === "\n") {
        this.i += 2;
        return;
      }
      word.started = true;
      word.plain = false;
      noAssignment(word);
      if (next === HOLE) {
        this.i += 2;
        this.takeHole("bare", "unparsed");
      } else if (next !== undefined) {
        word.text += next;
        word.content = true;
        this.i += 2;
      } else this.i++;
      return;
    }
    if (c === "'") {
      this.i++;
      word.started = true;
      word.plain = false;
      noAssignment(word);
      this.stack.push({ kind: "sq" });
      return;
    }
    if (c === '"') {
      this.i++;
      word.started = true;
      word.plain = false;
      noAssignment(word);
      this.stack.push({ kind: "dq", locale: false });
      return;
    }
    if (c === "`") {
      word.started = true;
      word.plain = false;
      word.literal = false;
      this.region("backticks");
      return;
    }
    if (c === "$") {
      this.dollar(false);
      return;
    }
    if (cmd.conditional) {
      // Inside [[ ]]: `(`, `)`, `<`, `>`, `&&`, `||` are operators of the expression.
      if ("()<>&|".includes(c)) {
        this.i++;
        this.endWord(frame);
        return;
      }
    }
    if (c === ";" || c === "&" || c === "|") {
      if (c === "&" && next === ">") {
        // bash reads `&>` as a redirection, dash as `&` then `>`: what follows is an argument in
        // one shell and a command in the other, so the analyser stops following.
        this.i += s[this.i + 2] === ">" ? 3 : 2;
        this.endWord(frame).cmd.redirect = true;
        this.poisoned ??= "unparsed";
        return;
      }
      this.i += next === c || (c === "|" && next === "&") ? 2 : 1;
      const after = this.endWord(frame);
      if (c === "|" && next !== "|") {
        after.cmd = newCommand();
        after.afterPipe = true;
      } else this.endPipeline(after);
      return;
    }
    if (c === "<" || c === ">") {
      if (next === "(") {
        // Process substitution: a command list whose output is a file name.
        word.started = true;
        word.plain = false;
        word.literal = false;
        this.i += 2;
        // Its output is a file name, not split; where that name goes decides.
        const taint =
          frame.taint !== undefined
            ? { context: frame.taint, command: frame.taintCommand }
            : this.outputTaint(frame, true);
        this.stack.push(this.newList(")", taint?.context, taint?.command));
        return;
      }
      let after = frame;
      if (/^\d+$/.test(word.text) && word.plain && word.holes.length === 0) {
        frame.word = newWord(); // a file-descriptor number, not a word
      } else after = this.endWord(frame);
      if (c === "<" && next === "<" && s[this.i + 2] !== "<") {
        // A here-document: its body and delimiter are expanded text we do not follow.
        this.refuseHolesIn(this.i, s.length, "here-document");
        if (this.poisoned === undefined) this.poisoned = "here-document";
        this.i = s.length;
        return;
      }
      this.i++;
      while (this.i < s.length && "<>&|".includes(s[this.i]!)) this.i++;
      after.cmd.redirect = true;
      return;
    }
    if (c === "(") {
      const after = this.endWord(frame);
      if (next === "(" && after.cmd.expect === "command") {
        this.region("arithmetic");
        after.cmd.expect = "ended";
        return;
      }
      this.i++;
      if (after.cmd.expect === "command") {
        this.pushCompound(after, ")");
        after.cmd.expect = "ended";
        return;
      }
      // `name ( )`: a function definition, or extglob, or a syntax error: not followed.
      if (this.poisoned === undefined) this.poisoned = "unparsed";
      return;
    }
    if (c === ")") {
      const after = this.endWord(frame);
      this.i++;
      if (after.closer === ")") {
        this.popList();
        return;
      }
      if (this.poisoned === undefined) this.poisoned = "unparsed";
      return;
    }
    // An ordinary character of a word.
    word.started = true;
    word.text += c;
    word.content = true;
    if (c === "{") word.brace = true;
    if (word.assignPrefix !== undefined && !word.assignPrefix.includes("=")) word.assignPrefix += c;
    this.i++;
  }

  /**
   * Ends the current word of a list frame and classifies its placeholders. Returns the list the
   * lexer is in afterwards (a closing `}` leaves the group).
   */
  endWord(frame: ListFrame): ListFrame {
    const word = frame.word;
    if (!word.started) return frame;
    frame.word = newWord();
    const cmd = frame.cmd;
    const id = this.wordCount++;
    let context: ShellContext;
    let command: string | undefined;
    const assignment =
      word.assignPrefix !== undefined && /^[A-Za-z_][A-Za-z0-9_]*(?:\[.*\])?\+?=/.test(word.assignPrefix);
    if (cmd.redirect) {
      context = "redirection";
      cmd.redirect = false;
    } else if (cmd.conditional) {
      context = "conditional";
      if (word.plain && word.text === "]]") {
        cmd.conditional = false;
        cmd.expect = "ended";
      }
    } else if (cmd.expect === "for") {
      context = "for-list";
      if (word.plain && word.text === "do") {
        frame.cmd = newCommand();
      }
    } else if (cmd.expect === "command") {
      if (assignment) context = "assignment";
      else {
        context = "command-name";
        const reserved = word.plain ? word.text : undefined;
        if (reserved !== undefined && commandPrefixWords.has(reserved)) {
          // stays in command position; a loop or if reading a pipe reads it to its end
          if (frame.afterPipe) frame.stickyPipe = true;
        } else if (reserved === "{") {
          this.pushCompound(frame, "}");
          cmd.expect = "ended";
        } else if (reserved === "}" && frame.closer === "}") {
          this.popList();
        } else if (reserved === "[[") {
          cmd.conditional = true;
        } else if (reserved === "for" || reserved === "select") {
          if (frame.afterPipe) frame.stickyPipe = true;
          cmd.expect = "for";
        } else if (reserved === "case" || reserved === "function" || reserved === "coproc") {
          this.poisoned ??= reserved === "case" ? "case" : "unparsed";
        } else if (reserved !== undefined && closingWords.has(reserved)) {
          cmd.expect = "ended";
        } else {
          cmd.words = [word.literal ? word.text : undefined];
          cmd.expect = "args";
          // Aliases and shell options change what later text means: stop following.
          if (word.literal && reparsingCommands.has(word.text)) this.poisoned ??= "unparsed";
          if (frame.afterPipe && (!word.literal || isPipeSink(word.text))) {
            this.refusePiped(frame, word.literal ? word.text : "a command named by an expansion");
          }
        }
      }
    } else if (cmd.expect === "ended") {
      context = "unparsed";
    } else {
      const verdict = argumentVerdict(cmd.words, word.holes.length > 0 ? word.text : "");
      if (verdict.refused) {
        context = verdict.context;
        command = verdict.command;
      } else {
        context = "argument";
        command = verdict.command;
        if (word.brace) context = "brace-expansion";
      }
      cmd.words.push(word.literal ? word.text : undefined);
      const name = cmd.words[0];
      if (frame.afterPipe && word.literal && name !== undefined && wrappers[basename(name)] !== undefined) {
        if (isPipeSink(word.text)) this.refusePiped(frame, word.text);
      }
    }
    for (const hole of word.holes) {
      const p = this.placeholders[hole.index]!;
      p.word = id;
      p.leadsWord = hole.leads;
      p.afterEndOfOptions = cmd.endOfOptions;
      p.quoting = hole.quoting;
      const by = hole.command ?? command;
      if (by !== undefined) p.command = by;
      const final =
        hole.refused ??
        (context === "argument"
          ? hole.quoting === "bare"
            ? "argument"
            : hole.quoting === "single"
              ? "single-quoted"
              : "double-quoted"
          : context);
      p.context = final;
      p.allowed = final === "argument" || final === "single-quoted" || final === "double-quoted";
      frame.holes.push(hole.index);
      frame.piped.push(hole.index);
    }
    if (context === "argument" && word.plain && word.text === "--") cmd.endOfOptions = true;
    return this.list();
  }
}
