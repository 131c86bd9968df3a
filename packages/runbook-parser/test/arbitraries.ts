import fc from "fast-check";
import { deriveStepName } from "../src/internal/names.js";
import type { Runbook, Step } from "../src/schema.js";
import { classifyHeading } from "../src/sections.js";
import { analyzeShellTemplate } from "../src/shell-context.js";
import { templateVariables } from "../src/templates.js";
import { analyzePowerShellTemplate } from "../src/windows-context.js";

/** Shared fast-check generators for runbooks (not a test file: no `.test.` in the name). */

const word = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
const sentence = fc
  .array(
    fc.oneof(word, word, fc.constantFrom("DB", "p99", "5xx", "it's", "(see", "above)", "**bold**", "`x`")),
    {
      minLength: 1,
      maxLength: 8,
    },
  )
  .map((w) => `${w.join(" ")}.`)
  .map((s) => s.charAt(0).toUpperCase() + s.slice(1));
const markdownText = fc.array(sentence, { minLength: 1, maxLength: 3 }).map((p) => p.join("\n\n"));

const titleText = fc
  .array(
    fc.oneof(
      word,
      fc.constantFrom("*", "_", "`", "#", "[x]", "<b>", "&amp;", "!", ":", "(db)", "\\", "|", "~"),
    ),
    {
      minLength: 1,
      maxLength: 6,
    },
  )
  .map((w) => w.join(" "));

const commandToken = fc.oneof(
  word,
  word,
  fc.constantFrom(
    "--force",
    "|",
    "&&",
    "'a b'",
    '"q"',
    "$HOME",
    "{{ ticket.service }}",
    "{{vars.db}}",
    "(x)",
    ",",
    ":",
    "a=b",
    "./bin/restart.sh",
    "{}",
  ),
);
const singleLine = fc.array(commandToken, { minLength: 1, maxLength: 6 }).map((t) => t.join(" "));
const multiLine = fc
  .array(
    fc.oneof(singleLine, fc.constant("  indented line"), fc.constant("```"), fc.constant("echo `date`")),
    {
      minLength: 2,
      maxLength: 4,
    },
  )
  .map((lines) => lines.join("\n"))
  .filter((c) => c.trim().length > 0 && !/^\s/.test(c));

const command = fc.oneof(
  singleLine.map((c) => ({ command: c, language: "sh" })),
  fc.record({ command: singleLine, language: fc.constantFrom("sql", "http", "powershell") }),
  fc.record({ command: multiLine, language: fc.constantFrom("sh", "sql", "python") }),
);

const regexSource = fc.constantFrom("^ok$", "ready, set", "a(b)c", "\\d+ rows", "x`y", 'say "hi"', "a: b=c");

const stepDraft = fc
  .record({
    command,
    explicitName: fc.option(fc.constantFrom("restart", "check db", "verify:1", "step"), { nil: undefined }),
    severity: fc.constantFrom("safe", "low_risk", "medium_risk", "high_risk" as const),
    requiresApproval: fc.boolean(),
    timeoutMs: fc.option(
      fc.oneof(fc.constantFrom(1500, 30_000, 300_000, 3_600_000), fc.integer({ min: 1, max: 10_000_000 })),
      {
        nil: undefined,
      },
    ),
    retries: fc.integer({ min: 0, max: 5 }),
    connection: fc.option(fc.constantFrom("prod-db-01", "web 2", "db:primary"), { nil: undefined }),
    exitCode: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    output: fc.option(regexSource, { nil: undefined }),
    onFailure: fc.constantFrom("abort", "continue", "rollback" as const),
    idempotent: fc.boolean(),
    compensate: fc.option(fc.oneof(singleLine, singleLine, multiLine, fc.constant("echo `date` (undo)")), {
      nil: undefined,
    }),
    description: fc.option(markdownText, { nil: undefined }),
  })
  // A valid runbook puts placeholders of shell and PowerShell commands only where a value stays
  // one inert word (or one single-quoted PowerShell string).
  .filter((d) => {
    const analyze =
      d.command.language === "sh"
        ? analyzeShellTemplate
        : d.command.language === "powershell"
          ? analyzePowerShellTemplate
          : undefined;
    return (
      analyze === undefined ||
      [d.command.command, d.compensate ?? ""].every((c) => analyze(c).placeholders.every((p) => p.allowed))
    );
  });

type Draft = typeof stepDraft extends fc.Arbitrary<infer T> ? T : never;

function toSteps(drafts: Draft[], taken: Set<string>): Step[] {
  return drafts.map((d, i) => {
    let name = d.explicitName !== undefined ? `${d.explicitName}-${i}` : deriveStepName(d.command.command);
    while (taken.has(name)) name = `${name}-x${i}`;
    taken.add(name);
    const step: Step = {
      name,
      command: d.command.command,
      language: d.command.language,
      // A single-line sh step is written as a list item, its language defaulted; others are fences.
      ...(d.command.language === "sh" && !d.command.command.includes("\n")
        ? {}
        : { languageDeclared: true as const }),
      requiresApproval: d.severity === "high_risk" ? true : d.requiresApproval,
      severity: d.severity as Step["severity"],
      retries: d.retries,
      onFailure: d.onFailure as Step["onFailure"],
      idempotent: d.idempotent,
      variables: templateVariables(d.command.command),
      position: { line: 1, column: 1 },
    };
    if (d.timeoutMs !== undefined) step.timeoutMs = d.timeoutMs;
    if (d.connection !== undefined) step.connection = d.connection;
    if (d.exitCode !== undefined || d.output !== undefined) {
      step.expect = {};
      if (d.exitCode !== undefined) step.expect.exitCode = d.exitCode;
      if (d.output !== undefined) step.expect.output = d.output;
    }
    if (d.compensate !== undefined)
      step.compensate = { command: d.compensate, variables: templateVariables(d.compensate) };
    if (d.description !== undefined) step.description = d.description;
    return step;
  });
}

const metadata = fc.record(
  {
    id: word,
    version: fc.integer({ min: 1, max: 9 }),
    status: fc.constantFrom("draft", "approved", "retired" as const),
    match: fc.record(
      {
        services: fc.array(word, { maxLength: 3 }),
        environments: fc.array(fc.constantFrom("prod", "staging", "yes", "123"), { maxLength: 2 }),
        severities: fc.uniqueArray(fc.constantFrom("critical", "high", "medium", "low", "info" as const)),
        sources: fc.array(word, { maxLength: 2 }),
        keywords: fc.array(fc.oneof(word, fc.constantFrom("connection refused", "null", "a: b")), {
          maxLength: 3,
        }),
        titlePattern: regexSource,
        descriptionPattern: regexSource,
      },
      { requiredKeys: [] },
    ),
    connection: fc.constantFrom("prod-db-01", "local"),
    timeoutMs: fc.constantFrom(60_000, 1500, 90_000),
    variables: fc.dictionary(word, fc.oneof(word, fc.constantFrom("yes", "5432", "", "a: b", "#x"))),
    autoExecute: fc.boolean(),
  },
  { requiredKeys: [] },
);

const note = fc.record({
  heading: titleText.filter((h) => classifyHeading(h) === undefined && h.trim() === h),
  text: fc.oneof(fc.constant(""), markdownText),
});

/** Valid runbooks, positions set to 1:1 (compare with positions stripped). */
export const runbookArbitrary: fc.Arbitrary<Runbook> = fc
  .record({
    title: titleText,
    metadata,
    prechecks: fc.array(stepDraft, { maxLength: 3 }),
    main: fc.array(stepDraft, { minLength: 1, maxLength: 4 }),
    postchecks: fc.array(stepDraft, { maxLength: 3 }),
    rollback: fc.array(stepDraft, { maxLength: 2 }),
    notes: fc.array(note, { maxLength: 2 }),
    description: fc.option(markdownText, { nil: undefined }),
  })
  .map((r) => {
    const taken = new Set<string>();
    const runbook: Runbook = {
      title: r.title,
      metadata: r.metadata as Runbook["metadata"],
      phases: {
        prechecks: toSteps(r.prechecks, taken),
        main: toSteps(r.main, taken),
        postchecks: toSteps(r.postchecks, taken),
        rollback: toSteps(r.rollback, taken),
      },
      notes: r.notes,
    };
    if (r.description !== undefined) runbook.description = r.description;
    return runbook;
  });

/** Markdown-flavoured noise: fragments of runbook syntax in any order. */
export const markdownNoise = fc
  .array(
    fc.oneof(
      fc.string(),
      fc.constantFrom(
        "# ",
        "## ",
        "### ",
        "Main Steps",
        "Prechecks",
        "Rollback",
        "- ",
        "1. ",
        "  ",
        "\t",
        "`",
        "```",
        "~~~",
        "{",
        "}",
        '{"',
        "(",
        ")",
        ":",
        "=",
        ",",
        "\n",
        "\r\n",
        "\r",
        "---\n",
        "{{",
        "}}",
        "\uFEFF",
        "requires_approval",
        "severity: high_risk",
        "timeout=30s",
        "name: a",
        "> ",
        "<!-- -->",
        "\\",
        '"',
      ),
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(""));

/** Removes step positions, which change when a runbook is written out again. */
export function withoutPositions(runbook: Runbook): unknown {
  const strip = (steps: Step[]) => steps.map(({ position: _position, ...rest }) => rest);
  return {
    ...runbook,
    phases: {
      prechecks: strip(runbook.phases.prechecks),
      main: strip(runbook.phases.main),
      postchecks: strip(runbook.phases.postchecks),
      rollback: strip(runbook.phases.rollback),
    },
  };
}
