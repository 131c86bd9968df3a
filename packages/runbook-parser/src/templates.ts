/**
 * Template references in commands: `{{ ticket.service }}`, `{{vars.name}}`. The parser only finds
 * and checks them; rendering (and quoting every value as one shell argument) happens in core,
 * which should use {@link tokenizeTemplate} so both read the same syntax.
 */

/** A dotted path of identifiers, with optional numeric indexes: `ticket.service`, `hosts[0].name`. */
const referencePattern = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])*$/;

/** One piece of a command: literal text, or a reference to render. */
export type TemplateToken =
  | { type: "text"; value: string }
  | { type: "reference"; name: string; start: number; end: number };

/** A `{{` that does not open a valid reference. */
export interface TemplateProblem {
  /** Offset of the offending `{{` in the input. */
  start: number;
  /** Offset just past the problem. */
  end: number;
  /** What is wrong, in a sentence. */
  message: string;
}

/**
 * Splits a command into literal text and `{{ reference }}` tokens. `\{{` is a literal `{{` (for
 * Go templates such as `docker ps --format '\{{.Names}}'`); the backslash is dropped.
 * @experimental
 */
export function tokenizeTemplate(command: string): { tokens: TemplateToken[]; problems: TemplateProblem[] } {
  const tokens: TemplateToken[] = [];
  const problems: TemplateProblem[] = [];
  let text = "";
  let i = 0;
  while (i < command.length) {
    const open = command.indexOf("{{", i);
    if (open === -1) {
      text += command.slice(i);
      break;
    }
    if (open > 0 && command[open - 1] === "\\") {
      text += command.slice(i, open - 1) + "{{";
      i = open + 2;
      continue;
    }
    text += command.slice(i, open);
    const close = command.indexOf("}}", open + 2);
    const newline = command.indexOf("\n", open + 2);
    if (close === -1 || (newline !== -1 && newline < close)) {
      problems.push({
        start: open,
        end: open + 2,
        message: 'unclosed template: "{{" has no matching "}}" (write "\\{{" for a literal "{{")',
      });
      text += "{{";
      i = open + 2;
      continue;
    }
    const inner = command.slice(open + 2, close).trim();
    if (!referencePattern.test(inner)) {
      problems.push({
        start: open,
        end: close + 2,
        message:
          inner.length === 0
            ? 'empty template "{{}}": name a value such as {{ ticket.service }}'
            : `"{{${command.slice(open + 2, close)}}}" is not a template reference: use a dotted name such as {{ ticket.service }} (write "\\{{" for a literal "{{")`,
      });
      text += command.slice(open, close + 2);
      i = close + 2;
      continue;
    }
    if (text.length > 0) tokens.push({ type: "text", value: text });
    text = "";
    tokens.push({ type: "reference", name: inner, start: open, end: close + 2 });
    i = close + 2;
  }
  if (text.length > 0) tokens.push({ type: "text", value: text });
  return { tokens, problems };
}

/** The distinct references in a command, in order of first use. */
export function templateVariables(command: string): string[] {
  if (!command.includes("{{")) return [];
  const names: string[] = [];
  for (const token of tokenizeTemplate(command).tokens) {
    if (token.type === "reference" && !names.includes(token.name)) names.push(token.name);
  }
  return names;
}
