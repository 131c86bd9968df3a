/**
 * Differential fuzzer for shell templates (issue 13, "Prove it"). It generates shell steps with
 * placeholders in every context of the grammar and hostile values, renders them, and runs every
 * accepted one under both `sh` (dash) and `bash` with a PATH holding only tripwire executables:
 * any command that runs but the template did not contain (the templates use builtins only) writes
 * its name to a marker file. Each accepted placeholder must arrive as exactly its value.
 *
 * CI runs a fixed seed and a bounded count; run locally with more:
 * `RUNWARDEN_FUZZ_RUNS=5000 RUNWARDEN_FUZZ_SEED=$RANDOM npx vitest run --project unit templates.fuzz`.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ticket } from "../../src/domain.js";
import { controlCharacters, renderCommand } from "../../src/executor/templates.js";

const runs = Number(process.env.RUNWARDEN_FUZZ_RUNS ?? 300);
const seed = Number(process.env.RUNWARDEN_FUZZ_SEED ?? 1313);
/** Each accepted template spawns two shells: allow ~30 ms a run, and never less than two minutes. */
const timeoutMs = Math.max(120_000, runs * 30);

/** Names a hostile value may try to run; each is a tripwire on PATH. */
const tripwires = [
  "touch",
  "id",
  "rm",
  "curl",
  "wget",
  "cat",
  "ls",
  "whoami",
  "uname",
  "nc",
  "sh",
  "bash",
  "python3",
  "perl",
  "awk",
  "sed",
  "xargs",
  "env",
  "sleep",
  "timeout",
  "find",
  "a",
  "b",
  "x",
  "y",
  "pwned",
  "hi",
  "foo",
  "[[",
];

const ticket: Ticket = {
  id: 1,
  version: 1,
  title: "t",
  description: "d",
  severity: "high",
  environment: "prod",
  service: "svc",
  source: "fuzz",
  externalId: null,
  fingerprint: "fp",
  status: "analyzed",
  occurrences: 1,
  metaData: {},
  receivedAt: "2030-01-01T00:00:00.000Z",
  lastSeenAt: "2030-01-01T00:00:00.000Z",
  updatedAt: "2030-01-01T00:00:00.000Z",
  analysis: null,
  statusReason: null,
};

// ---------------------------------------------------------------- values

const pieces = [
  "'",
  '"',
  "`",
  "$(",
  ")",
  "$(touch pwned)",
  "`id`",
  "$(id)",
  ";",
  "; rm -rf x",
  "&",
  "& id",
  "|",
  "| id",
  "&&",
  "||",
  "*",
  "?",
  "[",
  "]",
  "[a-z]*",
  "..",
  "../",
  "\\",
  "\\\\",
  "\\'",
  "$HOME",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a JavaScript template
  "${IFS}",
  "$((1+1))",
  "a[$(touch pwned)]",
  "x[$(id)]=1",
  "-rf",
  "--",
  "-",
  " ",
  "  ",
  "é",
  "😀",
  "\u00a0",
  "\u202e",
  "{a,b}",
  "~",
  "~root",
  "#",
  "!",
  "%s",
  "%n",
  "=",
  "x=y",
  "<",
  ">",
  ">x",
  "2>&1",
  "$'\\x41'",
  "EOF",
  "}}",
  "{{",
  "a",
  "id",
];

const value = fc
  .oneof(
    {
      weight: 6,
      arbitrary: fc.array(fc.constantFrom(...pieces), { minLength: 0, maxLength: 5 }).map((p) => p.join("")),
    },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
  )
  .filter((v) => !controlCharacters.test(v));

// ---------------------------------------------------------------- templates

type Quoting = "bare" | "single" | "double";

/** One fragment of a script: a command holding one placeholder, in an accepted or refused context. */
interface Fragment {
  /** The fragment's text with `@P` standing for its placeholder. */
  text: string;
  /** The lines it prints for value `v` when accepted; undefined for a refused context. */
  expect?: (v: string) => string[];
  /** The placeholder begins a word with no `--` before it: a value starting with `-` is refused. */
  leads: boolean;
}

/** A placeholder written bare, or inside single or double quotes, with literal text around it. */
const wordArb = fc.record({
  quoting: fc.constantFrom<Quoting>("bare", "single", "double"),
  pre: fc.constantFrom("", "p", "p-", "~", "a=", "%", "!", "@"),
  post: fc.constantFrom("", "q", "/q", "~", "#", "=", ":"),
  /** Quoted text before the placeholder, where globs and spaces are literal. */
  padding: fc.constantFrom("", " ", "x y ", "* ", "? [a] ", "\\ ", "a'b ", "$ "),
});

function word(w: { quoting: Quoting; pre: string; post: string; padding: string }): {
  text: string;
  of: (v: string) => string;
  leads: boolean;
} {
  if (w.quoting === "bare")
    return { text: `${w.pre}@P${w.post}`, of: (v) => `${w.pre}${v}${w.post}`, leads: w.pre === "" };
  const q = w.quoting === "single" ? "'" : '"';
  // Text as written inside the quotes, and as the shell reads it.
  const written = w.padding + w.pre;
  const read = written;
  if (w.quoting === "single" && written.includes("'")) {
    return { text: `"${written}@P${w.post}"`, of: (v) => `${read}${v}${w.post}`, leads: read === "" };
  }
  return { text: `${q}${written}@P${w.post}${q}`, of: (v) => `${read}${v}${w.post}`, leads: read === "" };
}

const acceptedFragment: fc.Arbitrary<Fragment> = fc
  .record({ shape: fc.constantFrom("printf", "set", "capture", "pipe", "mixed"), w: wordArb })
  .map(({ shape, w }) => {
    const { text, of, leads } = word(w);
    switch (shape) {
      case "printf":
        return { text: `printf '<%s>\\n' ${text}`, expect: (v) => [`<${of(v)}>`], leads };
      case "set":
        return { text: `set -- ${text}; printf '<%s>\\n' "$@"`, expect: (v) => [`<${of(v)}>`], leads: false };
      case "capture":
        return { text: `printf '<%s>\\n' "$(printf '%s' ${text})"`, expect: (v) => [`<${of(v)}>`], leads };
      case "pipe":
        return {
          text: `printf '%s\\n' ${text} | { IFS= read -r l; printf '<%s>\\n' "$l"; }`,
          expect: (v) => [`<${of(v)}>`],
          leads,
        };
      default:
        return {
          text: `printf '<%s>\\n' "$HOME" ${text} "x$(printf %s y)"`,
          expect: (v) => ["</nonexistent>", `<${of(v)}>`, "<xy>"],
          leads,
        };
    }
  });

/** Contexts no value may enter: each must make the renderer refuse the whole template. */
const refusedFragment: fc.Arbitrary<Fragment> = fc
  .constantFrom(
    "printf '<%s>\\n' $(( @P + 1 ))",
    "(( @P ))",
    "printf '<%s>\\n' $[ @P ]",
    "let x=@P",
    "a[@P]=1",
    "[[ x == @P ]]",
    "[[ 1 -eq @P ]]",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a JavaScript template
    "printf '<%s>\\n' ${X:-@P}",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a JavaScript template
    "printf '<%s>\\n' \"${X:-@P}\"",
    "cat <<EOF\n@P\nEOF\n",
    "cat <<@P\nx\n@P\n",
    "printf '<%s>\\n' `printf %s @P`",
    "printf '<%s>\\n' \"`printf %s @P`\"",
    "printf '<%s>\\n' $'@P'",
    "printf '<%s>\\n' \"$@P\"",
    "printf '<%s>\\n' $@P",
    "printf '<%s>\\n' $\"@P\"",
    'eval "printf %s @P"',
    "eval @P",
    "sh -c @P",
    'bash -c "printf %s @P"',
    "env A=b sh -c @P",
    "timeout 5 sh -c @P",
    "sudo -u nobody bash -c @P",
    "X=@P; printf '<%s>\\n' \"$X\"",
    "@P",
    "./@P",
    "printf x > @P",
    "printf x 2>> @P",
    "cat <<< @P",
    "for i in @P; do :; done",
    "case @P in *) ;; esac",
    "read @P </dev/null",
    "declare x=@P",
    "export X=@P",
    "printf -v @P %s y",
    "printf '%s\\n' @P | sh",
    "printf '%s\\n' @P | xargs printf %s",
    "printf '<%s>\\n' {a,@P}",
    "printf '<%s>\\n' $(printf %s @P)",
    ": # @P",
    "printf '<%s>\\n' $[ 1 ; eval ] @P",
    "printf x &>/dev/null eval @P",
    "xargs printf %s @P",
    "awk 'BEGIN{}' @P",
    "find . -exec printf %s @P \\;",
    'sh -c "$(printf %s @P)"',
    "source <(printf %s @P)",
  )
  .map((text) => ({ text, leads: false }));

/** Where a fragment sits: the top level, a subshell, a group, an if body, after && or ||. */
const wrap = fc.constantFrom(
  (f: string) => f,
  (f: string) => `( ${f} )`,
  (f: string) => `{ ${f}; }`,
  (f: string) => `if true; then ${f}; fi`,
  (f: string) => `true && ${f}`,
  (f: string) => `false || ${f}`,
  (f: string) => `: ; ${f}`,
  (f: string) => `for _ in 1; do ${f}; done`,
  (f: string) => `while true; do ${f}; break; done`,
  (f: string) => `! ${f} || :`,
);

const template = fc
  .array(
    fc.record({
      fragment: fc.oneof(
        { weight: 3, arbitrary: acceptedFragment },
        { weight: 1, arbitrary: refusedFragment },
      ),
      wrap,
      value,
    }),
    { minLength: 1, maxLength: 3 },
  )
  .chain((parts) =>
    fc
      .array(fc.constantFrom("; ", "\n"), { minLength: parts.length - 1, maxLength: parts.length - 1 })
      .map((separators) => {
        const vars: Record<string, string> = {};
        let command = "";
        parts.forEach((part, k) => {
          vars[`v${k}`] = part.value;
          // A here-document fragment keeps its own line structure; others are wrapped.
          const text = part.fragment.text.replaceAll("@P", `{{vars.v${k}}}`);
          command += (k > 0 ? separators[k - 1] : "") + (text.includes("\n") ? text : part.wrap(text));
        });
        return { parts, command, vars };
      }),
  );

/**
 * Shell token soup: random sequences of shell syntax and placeholders, mostly not valid scripts.
 * The vocabulary never names a command a hostile value tries to run (`touch`, `id`, `rm`, …), nor
 * one that runs text as code (`eval`, `sh`, `xargs`: a template that writes a value to a file and
 * runs it is the author's doing), so any of those in the tripwire log came from a value.
 */
const injected = ["touch", "id", "rm", "curl", "wget", "whoami", "uname", "nc", "pwned"];
const soupToken = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom("@P", "'@P'", '"@P"', "x@P", "'a @P b'", '"a @P b"', "--k=@P", "-- @P"),
  },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "printf '<%s>\\n'",
      "printf %s",
      "echo",
      "true",
      ":",
      "ls",
      "cat",
      "a",
      "b",
      "'",
      '"',
      "'x y'",
      '"$HOME"',
      "$HOME",
      "$(",
      ")",
      "(",
      "{",
      "}",
      ";",
      "&&",
      "||",
      "|",
      "\n",
      "#",
      "$((",
      "))",
      "((",
      "${",
      "${X:-",
      "$",
      "$'",
      "`",
      "\\",
      "<<EOF\nx\nEOF\n",
      "<<<",
      ">",
      "<",
      ">/dev/null",
      "2>&1",
      "=",
      "X=",
      "a[",
      "]",
      "[[",
      "]]",
      "[",
      "case",
      "in",
      "esac",
      ";;",
      "for",
      "do",
      "done",
      "if",
      "then",
      "fi",
      "!",
      "{a,b}",
      "*",
      "--",
      "-n",
      "let",
      "read",
      "export",
      "sudo",
      "env",
      "timeout 1",
      "find . -exec",
      "awk",
      "eval",
      "$[",
      "&>",
      "(( a #b ))",
    ),
  },
);
const soup = fc
  .array(fc.record({ token: soupToken, glue: fc.constantFrom(" ", " ", " ", "") }), {
    minLength: 1,
    maxLength: 12,
  })
  .chain((tokens) => {
    let n = 0;
    const command = tokens
      .map(({ token, glue }) => token.replace("@P", () => `{{vars.v${n++}}}`) + glue)
      .join("");
    return fc.array(value, { minLength: n, maxLength: n }).map((values) => ({
      command,
      vars: Object.fromEntries(values.map((v, k) => [`v${k}`, v])),
    }));
  })
  .filter(({ command }) => command.includes("{{"));

// ---------------------------------------------------------------- harness

let root = "";
let bin = "";
let marker = "";
let work = "";
let bash = "";

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "rw-fuzz-"));
  bin = join(root, "bin");
  work = join(root, "work");
  marker = join(root, "tripped");
  mkdirSync(bin);
  mkdirSync(work);
  // Files a glob would expand to, so an unquoted * shows in the output.
  for (const f of ["f1", "f2", "a-z"]) writeFileSync(join(work, f), "");
  for (const name of tripwires) {
    const path = join(bin, name);
    writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' '${name}' >> '${marker}'\n`);
    chmodSync(path, 0o755);
  }
  bash = spawnSync("/bin/sh", ["-c", "command -v bash"], { encoding: "utf8" }).stdout.trim();
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function run(shell: string, command: string): { stdout: string; tripped: string } {
  rmSync(marker, { force: true });
  const result = spawnSync(shell, ["-c", command], {
    cwd: work,
    env: { PATH: bin, HOME: "/nonexistent", LC_ALL: "C.UTF-8" },
    encoding: "utf8",
    timeout: 5000,
  });
  const tripped = existsSync(marker) ? readFileSync(marker, "utf8") : "";
  return { stdout: result.stdout ?? "", tripped };
}

describe("renderCommand (shell), differential fuzzing under sh and bash", () => {
  it("has a bash to compare with and tripwires that fire", () => {
    expect(bash).not.toBe("");
    expect(run("/bin/sh", "touch x; printf ok").tripped).toBe("touch\n");
  });

  it(
    "runs no command a template did not contain, and passes each value as exactly itself",
    () => {
      let accepted = 0;
      fc.assert(
        fc.property(template, ({ parts, command, vars }) => {
          const refusedContext = parts.some((p) => p.fragment.expect === undefined);
          const optionRefused = parts.some((p) => p.fragment.leads && p.value.startsWith("-"));
          let rendered: string | undefined;
          let error: { code?: string } | undefined;
          try {
            rendered = renderCommand(command, "sh", { ticket, vars }).command;
          } catch (err) {
            error = err as { code?: string };
          }
          if (rendered === undefined) {
            expect(error?.code, command).toBe("RW_ERR_EXEC_TEMPLATE");
            // Refusing is safe; refusing a template built only of accepted contexts is a false alarm.
            expect(refusedContext || optionRefused, `refused: ${command}`).toBe(true);
            return;
          }
          accepted++;
          expect(refusedContext, `accepted a refused context: ${command}`).toBe(false);
          expect(optionRefused, `accepted a value read as an option: ${command}`).toBe(false);
          const expected = `${parts.flatMap((p) => p.fragment.expect!(p.value)).join("\n")}\n`;
          for (const shell of ["/bin/sh", bash]) {
            const { stdout, tripped } = run(shell, rendered);
            expect(tripped, `${shell} ran a command: ${rendered}`).toBe("");
            expect(stdout, `${shell}: ${rendered}`).toBe(expected);
          }
        }),
        { numRuns: runs, seed, endOnFailure: true },
      );
      expect(accepted).toBeGreaterThan(runs / 4);
    },
    timeoutMs,
  );

  it(
    "runs no command a value names, whatever shell text surrounds an accepted placeholder",
    () => {
      let accepted = 0;
      fc.assert(
        fc.property(soup, ({ command, vars }) => {
          let rendered: string;
          try {
            rendered = renderCommand(command, "sh", { ticket, vars }).command;
          } catch (err) {
            expect((err as { code?: string }).code, command).toBe("RW_ERR_EXEC_TEMPLATE");
            return;
          }
          accepted++;
          for (const shell of ["/bin/sh", bash]) {
            const ran = run(shell, rendered)
              .tripped.split("\n")
              .filter((name) => injected.includes(name));
            expect(ran, `${shell} ran a value: ${rendered}`).toEqual([]);
          }
        }),
        { numRuns: runs, seed, endOnFailure: true },
      );
      expect(accepted).toBeGreaterThan(0);
    },
    timeoutMs,
  );
});
