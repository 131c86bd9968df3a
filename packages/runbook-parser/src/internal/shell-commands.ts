/**
 * What the shell-context analyser knows about commands, as opposed to shell grammar: which ones
 * evaluate their arguments, which wrappers to look through, which options run their argument,
 * which read code from a pipe. These are lists, and necessarily so (see shell-context.ts).
 */
import type { ShellContext } from "../shell-context.js";

/**
 * Commands that run (some of) their arguments as code, start another interpreter with them, or
 * run their arguments as a command line we cannot see into. Basenames; `python3.12` and the like
 * are matched by pattern as well.
 */
export const evaluatingCommands: ReadonlySet<string> = new Set([
  // shells and shell builtins that evaluate
  "eval",
  "source",
  ".",
  "sh",
  "bash",
  "dash",
  "zsh",
  "ksh",
  "mksh",
  "pdksh",
  "ash",
  "yash",
  "posh",
  "csh",
  "tcsh",
  "fish",
  "busybox",
  "toybox",
  "trap",
  "alias",
  "fc",
  "bind",
  "complete",
  "compgen",
  "coproc",
  "enable",
  // builtins that evaluate array subscripts or arithmetic in their arguments
  "let",
  "declare",
  "typeset",
  "local",
  "export",
  "readonly",
  "read",
  "readarray",
  "mapfile",
  "unset",
  "getopts",
  "wait",
  "hash",
  // privilege and remote execution
  "su",
  "runuser",
  "pkexec",
  "ssh",
  "rsh",
  "scp",
  "rsync",
  "sshpass",
  "mosh",
  "telnet",
  // commands that run a command line made of their arguments
  "xargs",
  "parallel",
  "watch",
  "script",
  "tmux",
  "screen",
  "at",
  "batch",
  "crontab",
  "nsenter",
  "unshare",
  "strace",
  "ltrace",
  "gdb",
  "valgrind",
  "xvfb-run",
  "unbuffer",
  "expect",
  "systemd-run",
  "machinectl",
  "setpriv",
  "chpst",
  "taskset",
  "chrt",
  "numactl",
  "ionice",
  "cgexec",
  "firejail",
  "bwrap",
  "flatpak-spawn",
  "dbus-launch",
  "make",
  // interpreters and programs whose argument is a program
  "awk",
  "gawk",
  "mawk",
  "nawk",
  "sed",
  "gsed",
  "ed",
  "ex",
  "vi",
  "vim",
  "nvim",
  "emacs",
  "perl",
  "ruby",
  "irb",
  "node",
  "nodejs",
  "deno",
  "bun",
  "php",
  "lua",
  "luajit",
  "tclsh",
  "wish",
  "R",
  "Rscript",
  "julia",
  "pwsh",
  "powershell",
  "osascript",
  "jshell",
  "groovy",
  "scala",
  "dc",
  "bc",
  "m4",
]);

/** Basenames matched as interpreters by pattern (`python3.12`, `perl5.36`, `php8.2`). */
const evaluatingPattern =
  /^(?:python\d*(?:\.\d+)?|pypy\d*|perl\d*(?:\.\d+)*|php\d*(?:\.\d+)?|ruby\d*(?:\.\d+)?|node\d*|lua\d*(?:\.\d+)?)$/;

/**
 * Wrappers we look through to find the command they run, with the short options that take an
 * argument. `shell` lists the options that make the wrapper start a shell with its arguments.
 */
export const wrappers: Record<
  string,
  { argOptions: string; shell?: RegExp; positional?: number; assignments?: boolean }
> = {
  sudo: { argOptions: "ughpCDrtUTR", shell: /^(?:-[A-Za-z]*[si][A-Za-z]*|--shell|--login)$/ },
  doas: { argOptions: "uC", shell: /^-[A-Za-z]*s[A-Za-z]*$/ },
  env: { argOptions: "uCP", shell: /^(?:-[A-Za-z]*S.*|--split-string.*)$/, assignments: true },
  nice: { argOptions: "n" },
  nohup: { argOptions: "" },
  setsid: { argOptions: "" },
  time: { argOptions: "fo" },
  timeout: { argOptions: "sk", positional: 1 },
  stdbuf: { argOptions: "ioe" },
  command: { argOptions: "" },
  builtin: { argOptions: "" },
  exec: { argOptions: "a" },
  chroot: { argOptions: "", positional: 1 },
  flock: { argOptions: "wEn", shell: /^(?:-[A-Za-z]*c[A-Za-z]*|--command.*)$/, positional: 1 },
};

/** Options whose argument a command runs as a command line (`tar -I`, `git -c core.pager=…`). */
const executingOptions: Record<string, readonly string[]> = {
  tar: [
    "-I",
    "--use-compress-program",
    "--to-command",
    "--checkpoint-action",
    "-F",
    "--info-script",
    "--new-volume-script",
    "--rsh-command",
  ],
  git: ["-c", "--config-env", "--upload-pack", "--receive-pack"],
  zip: ["-TT", "--unzip-command"],
  curl: ["-K", "--config"],
  // Database shells: the argument of these options is SQL (or JavaScript) to run.
  psql: ["-c", "--command"],
  mysql: ["-e", "--execute"],
  mariadb: ["-e", "--execute"],
  mongo: ["--eval"],
  mongosh: ["--eval"],
};

/** Builtins after which later text may parse or run differently (aliases, extglob, new builtins). */
export const reparsingCommands = new Set(["alias", "shopt", "enable", "setopt"]);

export function basename(word: string): string {
  const slash = word.lastIndexOf("/");
  return slash === -1 ? word : word.slice(slash + 1);
}

/**
 * Names that, appearing anywhere before a placeholder, mean a command line is being handed to an
 * interpreter (`kubectl exec pod -- bash -c …`): shells, interpreters and command runners, but not
 * names that are also common words (`at`, `read`, `make`, `.`).
 */
const runnerPattern =
  /^(?:eval|sh|bash|dash|zsh|ksh|mksh|ash|yash|csh|tcsh|fish|busybox|su|runuser|ssh|xargs|parallel|awk|gawk|mawk|nawk|sed|perl\d*(?:\.\d+)*|python\d*(?:\.\d+)?|pypy\d*|ruby\d*|node|nodejs|deno|bun|php\d*(?:\.\d+)?|lua\d*|pwsh|powershell|osascript)$/;

/** Commands that only print or test their arguments: the words before a value are just text. */
const printingCommands = new Set(["echo", "printf", "logger", "true", "false", ":"]);

/**
 * Commands that read code from stdin when fed a pipe (`echo {{x}} | sh`): shells, interpreters,
 * command builders and schedulers, database shells.
 */
const pipeSinkPattern =
  /^(?:eval|source|\.|sh|bash|dash|zsh|ksh|mksh|ash|yash|csh|tcsh|fish|busybox|su|runuser|ssh|xargs|parallel|at|batch|crontab|expect|tclsh|bc|dc|perl\d*(?:\.\d+)*|python\d*(?:\.\d+)?|pypy\d*|ruby\d*|node|nodejs|deno|bun|php\d*(?:\.\d+)?|lua\d*|pwsh|powershell|osascript|psql|mysql|mariadb|sqlite3)$/;

export function isPipeSink(word: string): boolean {
  return pipeSinkPattern.test(basename(word));
}

function isRunningCode(word: string): boolean {
  return runnerPattern.test(basename(word));
}

function isEvaluating(word: string | undefined): boolean {
  if (word === undefined) return false;
  const name = basename(word);
  return evaluatingCommands.has(name) || evaluatingPattern.test(name);
}

/** Why the next argument of this simple command would be evaluated, if it would. */
export function argumentVerdict(
  words: readonly (string | undefined)[],
  prefix = "",
): { refused: true; command: string; context: ShellContext } | { refused: false; command: string } {
  const name = words[0];
  if (name === undefined)
    return { refused: true, command: "a command named by an expansion", context: "evaluated-argument" };
  // Look through wrappers to the command they run; a placeholder that lands on a wrapper's
  // command name is a command name.
  let i = 0;
  let current = basename(name);
  const position = words.length; // index the next word will have
  while (wrappers[current] !== undefined) {
    const wrapper = wrappers[current]!;
    let j = i + 1;
    let positional = wrapper.positional ?? 0;
    for (; j < words.length; j++) {
      const w = words[j];
      if (w === undefined) return { refused: true, command: current, context: "evaluated-argument" };
      if (wrapper.shell?.test(w))
        return { refused: true, command: `${current} ${w}`, context: "evaluated-argument" };
      if (w === "--") {
        j++;
        break;
      }
      if (w.startsWith("-") && w.length > 1) {
        if (w.startsWith("--")) continue;
        const letters = w.slice(1);
        const k = [...letters].findIndex((c) => wrapper.argOptions.includes(c));
        if (k !== -1 && k === letters.length - 1) {
          j++;
          // The next word is this option's argument: a value, not a command.
          if (j === position) return { refused: false, command: current };
        }
        continue;
      }
      if (wrapper.assignments && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) continue;
      if (positional > 0) {
        positional--;
        continue;
      }
      break;
    }
    if (j >= position) return { refused: true, command: current, context: "command-name" };
    if (j >= words.length) break;
    const next = words[j];
    if (next === undefined) {
      return { refused: true, command: "a command named by an expansion", context: "evaluated-argument" };
    }
    i = j;
    current = basename(next);
  }
  const effective = current;
  if (isEvaluating(words[i])) return { refused: true, command: effective, context: "evaluated-argument" };
  // A program we do not know may run the rest of its line as a command (`docker exec c sh -c …`).
  if (!printingCommands.has(effective)) {
    for (let k = i + 1; k < words.length; k++) {
      const word = words[k];
      if (word !== undefined && isRunningCode(word)) {
        return { refused: true, command: basename(word), context: "evaluated-argument" };
      }
    }
  }
  const rest = words.slice(i + 1);
  if (
    (effective === "printf" || effective === "test" || effective === "[") &&
    rest.some((w) => w === "-v" || w === "-R")
  ) {
    return { refused: true, command: `${effective} -v`, context: "evaluated-argument" };
  }
  if (effective === "find" && rest.some((w) => w !== undefined && /^-(?:exec|execdir|ok|okdir)$/.test(w))) {
    return { refused: true, command: "find -exec", context: "evaluated-argument" };
  }
  const options = executingOptions[effective];
  const previous = words[words.length - 1];
  if (options !== undefined && previous !== undefined && options.includes(previous)) {
    return { refused: true, command: `${effective} ${previous}`, context: "evaluated-argument" };
  }
  const attached = options?.find((o) => prefix.startsWith(o));
  if (attached !== undefined) {
    return { refused: true, command: `${effective} ${attached}`, context: "evaluated-argument" };
  }
  return { refused: false, command: effective };
}
