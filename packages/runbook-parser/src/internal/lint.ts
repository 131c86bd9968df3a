import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseRunbook } from "../parse.js";

export interface LintIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readFile(path: string): Promise<string>;
  /** The Markdown files under a directory, or undefined when `path` is not a directory. */
  listMarkdown(path: string): Promise<string[] | undefined>;
}

const usage = `Usage: runwarden-lint [--warnings-as-errors] <file-or-directory…>

Checks Markdown runbooks and prints one line per problem:
  file:line:column severity ruleId message
Directories are searched for *.md files (README.md is skipped). Exits 1 when any file has an error
(or, with --warnings-as-errors, a warning), 2 on a usage error.
`;

/** The CLI without the process: returns the exit code. */
export async function runLint(args: readonly string[], io: LintIo): Promise<number> {
  let warningsAsErrors = false;
  const targets: string[] = [];
  for (const arg of args) {
    if (arg === "--help" || arg === "-h") {
      io.stdout(usage);
      return 0;
    }
    if (arg === "--warnings-as-errors" || arg === "--strict") warningsAsErrors = true;
    else if (arg.startsWith("-") && arg !== "-") {
      io.stderr(`runwarden-lint: unknown option ${arg}\n\n${usage}`);
      return 2;
    } else targets.push(arg);
  }
  if (targets.length === 0) {
    io.stderr(`runwarden-lint: no files given\n\n${usage}`);
    return 2;
  }
  const files: string[] = [];
  for (const target of targets) {
    const listed = await io.listMarkdown(target);
    if (listed === undefined) files.push(target);
    else files.push(...listed);
  }
  let errors = 0;
  let warnings = 0;
  for (const file of files) {
    let text: string;
    try {
      text = await io.readFile(file);
    } catch (err) {
      errors++;
      const reason = err instanceof Error ? err.message : String(err);
      io.stdout(`${file}:1:1 error runbook/unreadable-file cannot read the file: ${reason}\n`);
      continue;
    }
    const { diagnostics } = parseRunbook(text, { warningsAsErrors });
    for (const d of diagnostics) {
      if (d.severity === "error") errors++;
      else warnings++;
      io.stdout(`${file}:${d.line}:${d.column} ${d.severity} ${d.ruleId} ${d.message}\n`);
    }
  }
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  io.stdout(
    `${plural(files.length, "file")} checked: ${plural(errors, "error")}, ${plural(warnings, "warning")}\n`,
  );
  return errors > 0 ? 1 : 0;
}

/** Real file-system access for the CLI. */
export const nodeIo: LintIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readFile: (path) => readFile(path, "utf8"),
  async listMarkdown(path) {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isDirectory()) return undefined;
    const found: string[] = [];
    const walk = async (dir: string) => {
      const entries = await readdir(dir, { withFileTypes: true });
      entries.sort((a, b) => a.name.localeCompare(b.name));
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory() && entry.name !== "node_modules" && !entry.name.startsWith("."))
          await walk(full);
        else if (entry.isFile() && /\.(md|markdown)$/i.test(entry.name) && !/^readme\./i.test(entry.name)) {
          found.push(full);
        }
      }
    };
    await walk(path);
    return found;
  },
};
