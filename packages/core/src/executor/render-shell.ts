/**
 * Renders the templates of a shell step. Where each placeholder sits is decided by the runbook
 * parser's {@link analyzeShellTemplate} (the same code that lints the runbook), so a placeholder
 * is substituted only in the contexts it accepts: a bare argument becomes one single-quoted word,
 * a value inside '…' or "…" is escaped for those quotes. Anything else, and a value that would be
 * read as an option, fails with RW_ERR_EXEC_TEMPLATE before anything runs. Errors name the
 * reference and the context, never the value.
 */
import { analyzeShellTemplate, type TemplateToken } from "@runwarden/runbook-parser";
import { rwError } from "../errors.js";

/**
 * Renders a shell command whose references have been resolved: `values[i]` is the value of
 * `tokens[i]` when that token is a reference. Throws RW_ERR_EXEC_TEMPLATE.
 */
export function renderShell(
  command: string,
  tokens: readonly TemplateToken[],
  values: readonly string[],
): string {
  const { placeholders } = analyzeShellTemplate(command);
  const references = tokens.filter((t) => t.type === "reference").length;
  if (placeholders.length !== references) {
    // Cannot happen (both come from tokenizeTemplate); refuse rather than guess.
    throw rwError(
      "RW_ERR_EXEC_TEMPLATE",
      "the command's templates could not be analysed; the step was not run",
      {
        details: { reason: "context" },
      },
    );
  }
  /** Words that already start with a non-empty value (so a later value in them cannot be an option). */
  const started = new Set<number>();
  let k = 0;
  let out = "";
  tokens.forEach((token, index) => {
    if (token.type === "text") {
      out += token.value;
      return;
    }
    const p = placeholders[k++]!;
    const value = values[index]!;
    if (!p.allowed) {
      throw rwError("RW_ERR_EXEC_TEMPLATE", p.message ?? `{{${p.name}}} cannot be rendered safely here`, {
        details: { reference: p.name, reason: "context", context: p.context },
      });
    }
    if (p.leadsWord && !p.afterEndOfOptions && !started.has(p.word) && value.startsWith("-")) {
      const by = p.command ? `\`${p.command}\`` : "the command";
      throw rwError(
        "RW_ERR_EXEC_TEMPLATE",
        `the value of {{${p.name}}} starts with "-" where it begins an argument of ${by}, which would read it as an option; write \`--\` before it (such as \`${p.command ?? "rm"} -- {{${p.name}}}\`) if the command accepts that, or pass it to a script that checks it`,
        { details: { reference: p.name, reason: "option", context: p.context } },
      );
    }
    if (value.length > 0) started.add(p.word);
    if (p.quoting === "single") out += value.replace(/'/g, `'\\''`);
    else if (p.quoting === "double") out += value.replace(/[\\"$`]/g, "\\$&");
    else out += `'${value.replace(/'/g, `'\\''`)}'`;
  });
  return out;
}
