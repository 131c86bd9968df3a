/** Fence languages that hold sample output or prose, never a command: they are not steps. */
export const nonExecutableLanguages: ReadonlySet<string> = new Set([
  "text",
  "txt",
  "plain",
  "plaintext",
  "output",
  "log",
  "console-output",
  "diff",
  "markdown",
  "md",
]);

/** Language names a fence may use, mapped to the language a step records. */
const languageAliases: Record<string, string> = {
  sh: "sh",
  bash: "sh",
  shell: "sh",
  zsh: "sh",
  console: "sh",
  shellscript: "sh",
  powershell: "powershell",
  pwsh: "powershell",
  ps1: "powershell",
  ps: "powershell",
  cmd: "cmd",
  bat: "cmd",
  batch: "cmd",
  sql: "sql",
  psql: "sql",
  postgresql: "sql",
  postgres: "sql",
  mysql: "sql",
  http: "http",
  https: "http",
  k8s: "k8s",
  kubernetes: "k8s",
  python: "python",
  py: "python",
  javascript: "javascript",
  js: "javascript",
  yaml: "yaml",
  yml: "yaml",
  json: "json",
};

/** A fence or annotation language, normalized: `bash` → `sh`, `pwsh` → `powershell`, `SQL` → `sql`. */
export function normalizeLanguage(language: string): string {
  const lower = language.toLowerCase();
  return languageAliases[lower] ?? lower;
}

/** Whether a fence in that language holds a command (not sample output or prose). */
export function isExecutableLanguage(language: string): boolean {
  return !nonExecutableLanguages.has(normalizeLanguage(language));
}
