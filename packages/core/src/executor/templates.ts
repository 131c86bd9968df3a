/**
 * Renders a step's `{{ ticket.x }}` / `{{ vars.x }}` templates. Every value is untrusted: in a
 * shell step it is substituted only where the runbook parser's shell-context analyser proves it
 * one inert word (a plain argument, or inside '…' or "…"; see render-shell.ts), in a SQL step a
 * bound parameter, in an HTTP step a URL-encoded component, in a k8s step a quoted field value. A value holding a control character,
 * a reference to an unknown field, or a reference in a place where no quoting is sound fails with
 * RW_ERR_EXEC_TEMPLATE before anything runs. Errors name the field, never its value.
 */
import {
  analyzeCmdTemplate,
  analyzePowerShellTemplate,
  powerShellSingleQuoted,
  tokenizeTemplate,
} from "@runwarden/runbook-parser";
import type { Ticket } from "../domain.js";
import { rwError } from "../errors.js";
import { renderHttp } from "./render-http.js";
import { renderK8s } from "./render-k8s.js";
import { renderShell } from "./render-shell.js";

/** The values a template may reference. */
export interface TemplateScope {
  ticket: Ticket;
  /** Runbook variables (front matter defaults, overridden by the starter's). */
  vars: Readonly<Record<string, string>>;
}

export interface RenderedCommand {
  /** The command as it runs (and as an approver sees it). */
  command: string;
  /** SQL steps: the statement split at each value, and the values to bind in order. */
  sql?: { parts: string[]; values: unknown[] };
}

/** Languages whose steps run through a POSIX shell. */
export const shellLanguages: ReadonlySet<string> = new Set(["sh", "bash", "shell", "zsh", "console"]);

/** C0 and C1 control characters (newlines included) and the Unicode line separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
export const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** POSIX single-quote escaping: the result is always exactly one shell word. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Renders a step command for its language, or throws RW_ERR_EXEC_TEMPLATE. */
export function renderCommand(command: string, language: string, scope: TemplateScope): RenderedCommand {
  const { tokens, problems } = tokenizeTemplate(command);
  if (problems.length > 0) throw templateError(problems[0]!.message, { reason: "syntax" });
  const references = tokens.filter((t) => t.type === "reference");
  if (references.length === 0) {
    const text = tokens.map((t) => (t.type === "text" ? t.value : "")).join("");
    return language === "sql" ? { command: text, sql: { parts: [text], values: [] } } : { command: text };
  }
  const values = tokens.map((token) =>
    token.type === "reference" ? lookup(token.name, scope) : token.value,
  );
  const lang = language.toLowerCase();
  if (shellLanguages.has(lang)) return { command: renderShell(command, tokens, values) };
  if (lang === "sql") return renderSql(tokens, values);
  if (lang === "http") return { command: renderHttp(tokens, values) };
  if (lang === "powershell") return { command: renderPowerShell(command, tokens, values) };
  // Typed-field fences (Kubernetes, AWS, Google Cloud, Azure steps): a value is a whole field value.
  if (lang === "k8s" || lang === "aws" || lang === "gcp" || lang === "azure")
    return { command: renderK8s(tokens, values, lang) };
  if (lang === "cmd") {
    const [first] = analyzeCmdTemplate(command).placeholders;
    throw templateError(first?.message ?? "templates are not supported in cmd steps", {
      reference: first?.name,
      reason: "context",
      context: "cmd",
    });
  }
  throw templateError(
    `templates are not supported in ${language} steps: no quoting makes a ticket value safe there; use a sh, sql, http or k8s step`,
    { reason: "language", language },
  );
}

/** Resolves `ticket.service`, `ticket.metaData.region`, `ticket.entities.hosts[0]`, `vars.x`. */
function lookup(name: string, scope: TemplateScope): string {
  const segments = name.match(/[^.[\]]+|\[\d+\]/g) ?? [];
  const [root, ...path] = segments;
  let node: unknown;
  if (root === "ticket") node = ticketView(scope.ticket);
  else if (root === "vars") node = scope.vars;
  else {
    throw templateError(
      `{{${name}}} is not a known value: templates reference ticket.<field> or vars.<name>`,
      {
        reference: name,
        reason: "unknown",
      },
    );
  }
  for (const segment of path) {
    const key = segment.startsWith("[") ? Number(segment.slice(1, -1)) : segment;
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, key)) {
      throw templateError(`{{${name}}} is not a known value`, { reference: name, reason: "unknown" });
    }
    node = (node as Record<string | number, unknown>)[key];
  }
  if (typeof node === "number" || typeof node === "boolean") return String(node);
  if (typeof node !== "string") {
    throw templateError(`{{${name}}} has no single value to render`, {
      reference: name,
      reason: "not-a-value",
    });
  }
  if (controlCharacters.test(node)) {
    throw templateError(
      `{{${name}}} holds a control character (such as a newline) and cannot be rendered safely`,
      {
        reference: name,
        reason: "control-character",
      },
    );
  }
  return node;
}

function ticketView(ticket: Ticket): Record<string, unknown> {
  return {
    id: ticket.id,
    title: ticket.title,
    description: ticket.description,
    severity: ticket.severity,
    environment: ticket.environment,
    service: ticket.service,
    source: ticket.source,
    externalId: ticket.externalId,
    external_id: ticket.externalId,
    fingerprint: ticket.fingerprint,
    occurrences: ticket.occurrences,
    receivedAt: ticket.receivedAt,
    metaData: ticket.metaData,
    meta_data: ticket.metaData,
    category: ticket.analysis?.category ?? null,
    entities: ticket.analysis?.entities ?? null,
  };
}

type Token = ReturnType<typeof tokenizeTemplate>["tokens"][number];

/** SQL: each value is a bound parameter; a reference inside a string, identifier or comment is refused. */
function renderSql(tokens: readonly Token[], values: readonly string[]): RenderedCommand {
  const parts: string[] = [""];
  const bound: string[] = [];
  let display = "";
  let state: "code" | "single" | "double" | "line" | "block" | "dollar" = "code";
  let dollarTag = "";
  tokens.forEach((token, index) => {
    if (token.type === "reference") {
      if (state !== "code") {
        throw templateError(
          `{{${token.name}}} sits inside a SQL ${state === "line" || state === "block" ? "comment" : "quoted text"}; write it bare: it is bound as a parameter`,
          { reference: token.name, reason: "context" },
        );
      }
      bound.push(values[index]!);
      parts.push("");
      display += `'${values[index]!.replace(/'/g, "''")}'`;
      return;
    }
    const text = token.value;
    parts[parts.length - 1] += text;
    display += text;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      const next = text[i + 1];
      if (state === "code") {
        if (c === "'") state = "single";
        else if (c === '"') state = "double";
        else if (c === "-" && next === "-") state = "line";
        else if (c === "/" && next === "*") state = "block";
        else if (c === "$") {
          const match = /^\$[A-Za-z_]*\$/.exec(text.slice(i));
          if (match) {
            state = "dollar";
            dollarTag = match[0];
            i += dollarTag.length - 1;
          }
        }
      } else if (state === "single" && c === "'") state = "code";
      else if (state === "double" && c === '"') state = "code";
      else if (state === "line" && c === "\n") state = "code";
      else if (state === "block" && c === "*" && next === "/") state = "code";
      else if (state === "dollar" && text.startsWith(dollarTag, i)) {
        state = "code";
        i += dollarTag.length - 1;
      }
    }
  });
  return { command: display, sql: { parts, values: bound } };
}

/**
 * PowerShell: each value becomes verbatim single-quoted text, where the runbook parser's
 * PowerShell analyser accepts it: written bare it is wrapped in `'…'`, inside a single-quoted
 * string of the command its quotes are doubled. Every other context is refused.
 */
function renderPowerShell(command: string, tokens: readonly Token[], values: readonly string[]): string {
  const { placeholders } = analyzePowerShellTemplate(command);
  let k = 0;
  let out = "";
  tokens.forEach((token, index) => {
    if (token.type === "text") {
      out += token.value;
      return;
    }
    const p = placeholders[k++];
    if (!p?.allowed) {
      throw templateError(p?.message ?? `{{${token.name}}} cannot be rendered safely here`, {
        reference: token.name,
        reason: "context",
        context: p?.context,
      });
    }
    const value = values[index]!;
    if (p.native && /["\u201c\u201d\u201e]/.test(value)) {
      // Windows PowerShell 5.1 passes an embedded " to a native program unescaped: the
      // program would read the value as more than one argument.
      throw templateError(
        `the value of {{${token.name}}} holds a double quote and is an argument of a program that is not a PowerShell cmdlet, which would split it into several arguments; pass it to a cmdlet or script instead`,
        { reference: token.name, reason: "native-quote", context: p.context },
      );
    }
    const quoted = powerShellSingleQuoted(value);
    out += p.quoting === "single" ? quoted : `'${quoted}'`;
  });
  return out;
}

function templateError(message: string, details: Record<string, unknown>) {
  return rwError("RW_ERR_EXEC_TEMPLATE", message, { details });
}
