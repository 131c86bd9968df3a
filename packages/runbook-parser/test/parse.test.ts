import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isRunbookInvalidError } from "../src/errors.js";
import { type ParseResult, parseRunbook, parseRunbookOrThrow } from "../src/parse.js";
import { RunbookSchema } from "../src/schema.js";
import { markdownNoise } from "./arbitraries.js";

const guide = `# Fix Database Connection

## Prechecks
- \`check_db_status.sh\` (requires_approval: true)

## Main Steps
- \`restart_db_service.sh\` (severity: high_risk, requires_approval: true)

## Postchecks
- \`verify_db_connection.sh\`
`;

const rules = (result: ParseResult) => result.diagnostics.map((d) => d.ruleId);
const main = (markdown: string) => `# T\n\n## Main Steps\n\n${markdown}\n`;
const only = (markdown: string) => {
  const result = parseRunbook(markdown);
  expect(result.diagnostics).toEqual([]);
  return result.runbook!;
};

describe("parseRunbook", () => {
  it("reads the connector guide's runbook exactly as written", () => {
    const result = parseRunbook(guide);
    expect(result.diagnostics).toEqual([]);
    const runbook = result.runbook!;
    expect(runbook.title).toBe("Fix Database Connection");
    expect(runbook.metadata).toEqual({});
    expect(runbook.phases.prechecks).toEqual([
      {
        name: "check_db_status.sh",
        command: "check_db_status.sh",
        language: "sh",
        requiresApproval: true,
        severity: "low_risk",
        retries: 0,
        onFailure: "abort",
        idempotent: false,
        variables: [],
        position: { line: 4, column: 3 },
      },
    ]);
    expect(runbook.phases.main).toHaveLength(1);
    expect(runbook.phases.main[0]).toMatchObject({
      name: "restart_db_service.sh",
      severity: "high_risk",
      requiresApproval: true,
      position: { line: 7, column: 3 },
    });
    expect(runbook.phases.postchecks).toHaveLength(1);
    expect(runbook.phases.postchecks[0]!.requiresApproval).toBe(false);
    expect(runbook.phases.rollback).toEqual([]);
    expect(RunbookSchema.safeParse(runbook).success).toBe(true);
  });

  it("reads every annotation when given a list item's annotation list", () => {
    const runbook = only(
      main(
        '- `restart.sh` (name: restart, severity: medium_risk, requires_approval: yes, timeout: 5m, retries: 2, connection: prod-db-01, expect: 0, on_failure: rollback, idempotent: true)\n\n## Rollback\n\n- `start.sh` (expect_output: "active, (running)", expect_exit_code: 3)',
      ),
    );
    expect(runbook.phases.main[0]).toMatchObject({
      name: "restart",
      severity: "medium_risk",
      requiresApproval: true,
      timeoutMs: 300_000,
      retries: 2,
      connection: "prod-db-01",
      expect: { exitCode: 0 },
      onFailure: "rollback",
      idempotent: true,
    });
    expect(runbook.phases.rollback[0]!.expect).toEqual({ output: "active, (running)", exitCode: 3 });
  });

  it("accepts key=value, camelCase keys and bare flags when given list annotations", () => {
    const step = only(
      main("- `a.sh` (requiresApproval=true, Severity = HIGH-RISK, idempotent, timeout=1500ms)"),
    ).phases.main[0]!;
    expect(step).toMatchObject({
      requiresApproval: true,
      severity: "high_risk",
      idempotent: true,
      timeoutMs: 1500,
    });
  });

  it("reads fence attributes when given the key=value form", () => {
    const step = only(
      main(
        '```bash {requires_approval=true timeout=30s connection=prod-db-01 name="kill idle"}\nkill -HUP 1\n```',
      ),
    ).phases.main[0]!;
    expect(step).toMatchObject({
      name: "kill idle",
      command: "kill -HUP 1",
      language: "sh",
      requiresApproval: true,
      timeoutMs: 30_000,
      connection: "prod-db-01",
      position: { line: 5, column: 1 },
    });
  });

  it("reads fence attributes when given the JSON form", () => {
    const step = only(
      main(
        '```sql {"requires_approval": true, "timeout": 45, "expect": {"exit_code": 0, "output": "1 row"}}\nSELECT 1;\n```',
      ),
    ).phases.main[0]!;
    expect(step).toMatchObject({
      language: "sql",
      requiresApproval: true,
      timeoutMs: 45_000,
      expect: { exitCode: 0, output: "1 row" },
    });
  });

  it("maps fence languages when given aliases and defaults to sh when there is none", () => {
    const runbook = only(
      main(
        "```pwsh\nRestart-Service W3SVC\n```\n\n```\nuptime\n```\n\n```HTTP\nPOST /restart\n```\n\n```{retries=1}\nls\n```",
      ),
    );
    expect(runbook.phases.main.map((s) => s.language)).toEqual(["powershell", "sh", "http", "sh"]);
    expect(runbook.phases.main[3]!.retries).toBe(1);
  });

  it("marks a step's language as declared only when a fence or a language annotation names it", () => {
    const runbook = only(
      main(
        "- `SELECT 1`\n- `SELECT 2` (language: sql)\n\n```sh\nuptime\n```\n\n```\nls\n```\n\n```{retries=1}\nls -l\n```",
      ),
    );
    expect(runbook.phases.main.map((s) => [s.language, s.languageDeclared ?? false])).toEqual([
      ["sh", false],
      ["sql", true],
      ["sh", true],
      ["sh", false],
      ["sh", false],
    ]);
  });

  it("keeps multi-line scripts when given a fence", () => {
    const step = only(main("```sh\n\nset -e\nif true; then\n  echo ok\nfi   \n\n```")).phases.main[0]!;
    expect(step.command).toBe("set -e\nif true; then\n  echo ok\nfi");
  });

  it("treats output fences as description when given a text fence after a step", () => {
    const step = only(main("- `uptime`\n\n```text\n 10:00 up 3 days\n```")).phases.main[0]!;
    expect(step.description).toBe("```text\n 10:00 up 3 days\n```");
  });

  it("takes the text that follows a step as its description", () => {
    const runbook = only(
      main(
        "```sql\nSELECT 1;\n```\n\nChecks the **database** answers.\n\nA second paragraph.\n\n- `restart.sh` — restarts it\n  gently.\n\n  More detail.\n\n  - a bullet",
      ),
    );
    expect(runbook.phases.main[0]!.description).toBe(
      "Checks the **database** answers.\n\nA second paragraph.",
    );
    expect(runbook.phases.main[1]!.description).toBe("restarts it\ngently.\n\nMore detail.\n\n- a bullet");
  });

  it("keeps prose in parentheses when it is not an annotation list", () => {
    const step = only(main("- `restart.sh` (run twice if needed)")).phases.main[0]!;
    expect(step.description).toBe("(run twice if needed)");
    expect(step.requiresApproval).toBe(false);
  });

  it("matches headings in any case and common synonyms", () => {
    const runbook = only(
      "# T\n\n## PRE-FLIGHT\n- `a`\n\n## remediation\n- `b`\n\n## Verification steps\n- `c`\n\n## roll back\n- `d`\n",
    );
    expect(runbook.phases.prechecks[0]!.command).toBe("a");
    expect(runbook.phases.main[0]!.command).toBe("b");
    expect(runbook.phases.postchecks[0]!.command).toBe("c");
    expect(runbook.phases.rollback[0]!.command).toBe("d");
    for (const heading of ["Pre-checks", "Steps", "Post-checks", "Rollback", "Main Steps", "Verification"]) {
      expect(parseRunbook(`# T\n\n## ${heading}\n- \`x\`\n\n## Fix\n- \`y\`\n`).runbook).toBeDefined();
    }
  });

  it("reads nested lists when steps are grouped under a label", () => {
    const runbook = only(main("- Database\n  - `a.sh`\n  - `b.sh` (retries: 1)\n    - `c.sh`\n- `d.sh`"));
    expect(runbook.phases.main.map((s) => s.command)).toEqual(["a.sh", "b.sh", "c.sh", "d.sh"]);
  });

  it("uses a list item's text as the description when its command is a fence", () => {
    const step = only(
      main(
        "1. Terminate idle sessions:\n\n   ```sql {requires_approval=true}\n   SELECT 1;\n   ```\n\n   Then wait.",
      ),
    ).phases.main[0]!;
    expect(step).toMatchObject({
      command: "SELECT 1;",
      language: "sql",
      description: "Terminate idle sessions:\n\nThen wait.",
    });
  });

  it("keeps other sections as notes and the text under the title as the description", () => {
    const runbook = only(`# T

Fixes things.

## Context

Some *context*.

### Detail

More.

## Main Steps
- \`a\`

## Escalation
Call Bob.
`);
    expect(runbook.description).toBe("Fixes things.");
    expect(runbook.notes).toEqual([
      { heading: "Context", text: "Some *context*.\n\n### Detail\n\nMore." },
      { heading: "Escalation", text: "Call Bob." },
    ]);
  });

  it("lists template references per step when the command uses them", () => {
    const runbook = only(
      main(
        "- `systemctl restart {{ ticket.service }} --host={{vars.host}} {{ticket.service}}`\n- `docker ps --format '\\{{.Names}}'`",
      ),
    );
    expect(runbook.phases.main[0]!.variables).toEqual(["ticket.service", "vars.host"]);
    expect(runbook.phases.main[1]!.variables).toEqual([]);
  });

  it("reads front matter into camelCase metadata", () => {
    const runbook = only(
      `---
id: fix-db
version: 3
status: Approved
match:
  services: database
  environments: [prod, staging]
  severities: [critical, HIGH]
  sources: [prometheus]
  keywords: [connection refused]
  title_pattern: "(?i)?connection"
  description_pattern: timeout|refused
connection: prod-db-01
timeout: 90
variables:
  port: 5432
  db: main
auto_execute: true
---
# Fix DB

## Main Steps
- \`a\`
`.replace('"(?i)?connection"', '"^connection"'),
    );
    expect(runbook.metadata).toEqual({
      id: "fix-db",
      version: 3,
      status: "approved",
      match: {
        services: ["database"],
        environments: ["prod", "staging"],
        severities: ["critical", "high"],
        sources: ["prometheus"],
        keywords: ["connection refused"],
        titlePattern: "^connection",
        descriptionPattern: "timeout|refused",
      },
      connection: "prod-db-01",
      timeoutMs: 90_000,
      variables: { port: "5432", db: "main" },
      autoExecute: true,
    });
  });

  it("reports positions that match the text when given CRLF, a BOM, tabs, trailing spaces and front matter", () => {
    const markdown =
      "\uFEFF---\r\nid: x\r\n---\r\n# T   \r\n\r\n## Main Steps\t\r\n-\t`a.sh` (severity: extreme)   \r\n\r\n```sh {timeout=soon}\r\nls\r\n```\r\n";
    const result = parseRunbook(markdown);
    expect(result.diagnostics).toEqual([
      expect.objectContaining({ ruleId: "runbook/invalid-value", line: 7, column: 21, endColumn: 28 }),
      expect.objectContaining({ ruleId: "runbook/invalid-value", line: 9, column: 16, endColumn: 20 }),
    ]);
    const fixed = parseRunbook(markdown.replace("extreme", "safe").replace("soon", "2s"));
    expect(fixed.diagnostics).toEqual([]);
    expect(fixed.runbook!.title).toBe("T");
    expect(fixed.runbook!.phases.main.map((s) => [s.position, s.command])).toEqual([
      [{ line: 7, column: 3 }, "a.sh"],
      [{ line: 9, column: 1 }, "ls"],
    ]);
  });

  it("reports an unknown annotation with a suggestion", () => {
    const result = parseRunbook(main("- `a.sh` (requires_aproval: true)"));
    expect(result.runbook).toBeUndefined();
    expect(result.diagnostics).toEqual([
      expect.objectContaining({
        severity: "error",
        ruleId: "runbook/unknown-annotation",
        line: 5,
        column: 11,
        message: expect.stringContaining('did you mean "requires_approval"?'),
      }),
    ]);
  });

  it("reports a bad value when given severity: extreme or timeout: soon", () => {
    const result = parseRunbook(
      main("- `a.sh` (severity: extreme, timeout: soon, on_failure: rolback, retries: -1)"),
    );
    expect(rules(result)).toEqual(Array(4).fill("runbook/invalid-value"));
    expect(result.diagnostics[0]!.message).toContain('severity: "extreme" is not valid');
    expect(result.diagnostics[1]!.message).toContain("30s, 5m, 1500ms");
    expect(result.diagnostics[2]!.message).toContain('did you mean "rollback"?');
  });

  it("suggests the full severity when given a prefix", () => {
    const result = parseRunbook(main("- `a.sh` (severity: high)"));
    expect(result.diagnostics[0]!.message).toContain('did you mean "high_risk"?');
  });

  it("reports a step with no command", () => {
    const result = parseRunbook(main("- `a.sh`\n\n## Prechecks\n\n- Check the dashboard\n\n```sh\n```"));
    expect(result.diagnostics).toEqual([
      expect.objectContaining({ ruleId: "runbook/missing-command", line: 9, column: 1 }),
      expect.objectContaining({ ruleId: "runbook/missing-command", line: 11, column: 1 }),
    ]);
    expect(result.diagnostics[0]!.message).toContain('"Check the dashboard"');
  });

  it("reports a runbook with no main steps", () => {
    expect(parseRunbook("# T\n\n## Prechecks\n- `a`\n").diagnostics).toEqual([
      expect.objectContaining({ ruleId: "runbook/missing-main", line: 1, column: 1 }),
    ]);
    expect(
      parseRunbook("# T\n\n## Main Steps\n\nNothing yet.\n").diagnostics.map((d) => [d.ruleId, d.line]),
    ).toEqual([
      ["runbook/missing-main", 3],
      ["runbook/detached-text", 5],
    ]);
  });

  it("reports duplicate step names and derives distinct names for repeated commands", () => {
    const result = parseRunbook(main("- `a.sh` (name: x)\n- `b.sh` (name: x)"));
    expect(result.diagnostics).toEqual([
      expect.objectContaining({
        ruleId: "runbook/duplicate-step",
        line: 6,
        column: 11,
        message: expect.stringContaining("line 5"),
      }),
    ]);
    const repeated = only(main("- `check.sh`\n- `check.sh`\n- `/opt/bin/check.sh --all`"));
    expect(repeated.phases.main.map((s) => s.name)).toEqual(["check.sh", "check.sh-2", "check.sh-all"]);
  });

  it("reports front matter that is not valid YAML at its line", () => {
    const result = parseRunbook("---\nid: x\nmatch: [a\n---\n# T\n\n## Main Steps\n- `a`\n");
    expect(result.runbook).toBeUndefined();
    expect(result.diagnostics[0]).toMatchObject({
      ruleId: "runbook/invalid-front-matter",
      severity: "error",
    });
    expect(result.diagnostics[0]!.line).toBeGreaterThanOrEqual(3);
    expect(rules(parseRunbook("---\n- a\n---\n# T\n\n## Main Steps\n- `a`\n"))).toEqual([
      "runbook/invalid-front-matter",
    ]);
  });

  it("reports bad front matter values and unknown keys at their position", () => {
    const result = parseRunbook(
      "---\nstatus: live\nauto_exec: true\nmatch:\n  title_pattern: '(['\n  service: [db]\n---\n# T\n\n## Main Steps\n- `a`\n",
    );
    expect(result.diagnostics.map((d) => [d.ruleId, d.severity, d.line, d.column])).toEqual([
      ["runbook/invalid-value", "error", 2, 9],
      ["runbook/unknown-metadata", "warning", 3, 1],
      ["runbook/invalid-value", "error", 5, 18],
      ["runbook/unknown-metadata", "warning", 6, 3],
    ]);
    expect(result.diagnostics[1]!.message).toContain('did you mean "auto_execute"?');
    expect(result.diagnostics[3]!.message).toContain('did you mean "services"?');
  });

  it("reads ticket_connections into the connection types and names a ticket may choose", () => {
    const runbook = only(
      "---\nticket_connections:\n  types: [SSH, winrm]\n  names: web-01\n---\n# T\n\n## Main Steps\n- `a`\n",
    );
    expect(runbook.metadata).toEqual({ ticketConnections: { types: ["ssh", "winrm"], names: ["web-01"] } });
    const namesOnly = only(
      "---\nticket_connections:\n  names: [web-01, web-02]\n---\n# T\n\n## Main Steps\n- `a`\n",
    );
    expect(namesOnly.metadata.ticketConnections).toEqual({ names: ["web-01", "web-02"] });
  });

  it("reports a ticket_connections that allows nothing or is not a mapping, and unknown keys in it, at their position", () => {
    const empty = parseRunbook("---\nticket_connections:\n  types: []\n---\n# T\n\n## Main Steps\n- `a`\n");
    expect(empty.runbook).toBeUndefined();
    expect(empty.diagnostics.map((d) => [d.ruleId, d.severity, d.line, d.column])).toEqual([
      ["runbook/invalid-value", "error", 3, 3],
    ]);
    expect(empty.diagnostics[0]!.message).toContain("ticket_connections");
    expect(empty.diagnostics[0]!.message).toContain("types");
    const list = parseRunbook("---\nticket_connections: [ssh]\n---\n# T\n\n## Main Steps\n- `a`\n");
    expect(list.diagnostics.map((d) => [d.ruleId, d.line, d.column])).toEqual([
      ["runbook/invalid-value", 2, 21],
    ]);
    expect(list.diagnostics[0]!.message).toMatch(/ticket_connections must be a mapping of types and names/);
    const unknown = parseRunbook(
      "---\nticket_connections:\n  type: [ssh]\n  names: [web-01]\n---\n# T\n\n## Main Steps\n- `a`\n",
    );
    expect(unknown.diagnostics.map((d) => [d.ruleId, d.severity, d.line, d.column])).toEqual([
      ["runbook/unknown-metadata", "warning", 3, 3],
    ]);
    expect(unknown.diagnostics[0]!.message).toContain('did you mean "types"?');
    expect(unknown.runbook!.metadata.ticketConnections).toEqual({ names: ["web-01"] });
    const badName = parseRunbook(
      "---\nticket_connections:\n  names: [web-01, {a: 1}]\n---\n# T\n\n## Main Steps\n- `a`\n",
    );
    expect(badName.diagnostics.map((d) => [d.ruleId, d.line])).toEqual([["runbook/invalid-value", 3]]);
  });

  it("warns about a heading that looks like a misspelt phase, and only then", () => {
    const result = parseRunbook("# T\n\n## Precheks\n- `a`\n\n## Notes\nx\n\n## Main Steps\n- `b`\n");
    expect(result.diagnostics).toEqual([
      expect.objectContaining({
        severity: "warning",
        ruleId: "runbook/unknown-section",
        line: 3,
        message: expect.stringContaining('did you mean "Prechecks"?'),
      }),
    ]);
    expect(result.runbook!.notes.map((n) => n.heading)).toEqual(["Precheks", "Notes"]);
  });

  it("reports malformed templates", () => {
    const result = parseRunbook(main("- `echo {{ ticket.service`\n- `echo {{ }} {{a b}}`"));
    expect(result.diagnostics.map((d) => [d.ruleId, d.line, d.column])).toEqual([
      ["runbook/invalid-template", 5, 9],
      ["runbook/invalid-template", 6, 9],
      ["runbook/invalid-template", 6, 15],
    ]);
  });

  it("refuses a shell placeholder inside arithmetic expansion with its line and column", () => {
    const result = parseRunbook(main("- `echo $(( {{ticket.meta_data.n}} + 1 ))` (severity: safe)"));
    expect(result.runbook).toBeUndefined();
    expect(result.diagnostics).toEqual([
      {
        severity: "error",
        ruleId: "runbook/unsafe-template-context",
        message: expect.stringContaining("{{ticket.meta_data.n}} sits in an arithmetic context"),
        line: 5,
        column: 13,
        endLine: 5,
        endColumn: 35,
      },
    ]);
    expect(result.diagnostics[0]!.message).toContain("such as `./fix.sh {{ticket.meta_data.n}}`");
  });

  it("leaves a list-item step on a named connection to the renderer: its language comes from the connection", () => {
    // On a database connection this list item runs as SQL with a bound value; as shell it would be refused.
    const onConnection = parseRunbook(
      main("- `SELECT * FROM jobs WHERE id IN ({{ticket.meta_data.job}})` (connection: prod-db)"),
    );
    expect(onConnection.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const local = parseRunbook(main("- `SELECT * FROM jobs WHERE id IN ({{ticket.meta_data.job}})`"));
    expect(local.diagnostics.map((d) => d.ruleId)).toContain("runbook/unsafe-template-context");
    const declared = parseRunbook(
      main("```sh {connection=prod-db}\necho $(( {{ticket.meta_data.n}} + 1 ))\n```"),
    );
    expect(declared.diagnostics.map((d) => d.ruleId)).toContain("runbook/unsafe-template-context");
  });

  it("reports each unsafe shell placeholder of a fence and a compensate command where it stands", () => {
    const result = parseRunbook(
      main(
        '- `systemctl stop {{ticket.service}}` (compensate: "sh -c {{ticket.service}}")\n\n```bash\necho ok\ncat > {{ticket.title}}\n  X={{vars.x}} ./fix.sh {{ticket.id}}\n```',
      ),
    );
    expect(result.diagnostics.map((d) => [d.ruleId, d.line, d.column, d.message.split(":")[0]])).toEqual([
      ["runbook/unsafe-template-context", 5, 59, "compensate"],
      ["runbook/unsafe-template-context", 9, 7, "{{ticket.title}} sits in a redirection target"],
      ["runbook/unsafe-template-context", 10, 5, "{{vars.x}} sits in a variable assignment"],
    ]);
  });

  it("leaves placeholders of non-shell steps to their own renderer", () => {
    only(
      main(
        "```sql\nSELECT * FROM t WHERE id IN ({{ticket.id}})\n```\n\n```http\nGET /v1/{{ticket.service}}\n```",
      ),
    );
  });

  it("accepts shell placeholders that are plain, single-quoted or double-quoted arguments", () => {
    only(main("- `systemctl restart {{ticket.service}} --host={{vars.host}} 'x {{a}}' \"{{b}}\"`"));
  });

  it("reports a missing title", () => {
    expect(rules(parseRunbook("## Main Steps\n- `a`\n"))).toEqual(["runbook/missing-title"]);
    expect(parseRunbook("---\nid: x\n---\n\n## Main Steps\n- `a`\n").diagnostics[0]).toMatchObject({
      ruleId: "runbook/missing-title",
      line: 5,
    });
  });

  it("reports repeated annotations, malformed lists and a high_risk step without approval", () => {
    const result = parseRunbook(
      main(
        '- `a` (retries: 1, retries: 2)\n- `b` (severity: high_risk, requires_approval: false)\n- `c` (timeout: 5s\n\n```sh {retries=1\nx\n```\n\n```sql {"a": }\nx\n```\n\n```sh {name="x}\ny\n```',
      ),
    );
    expect(rules(result)).toEqual([
      "runbook/duplicate-annotation",
      "runbook/unsafe-step",
      "runbook/malformed-annotation",
      "runbook/malformed-annotation",
      "runbook/malformed-annotation",
      "runbook/malformed-annotation",
    ]);
  });

  it("warns about a duplicate section, an empty phase and on_failure: rollback with no rollback", () => {
    const result = parseRunbook(
      "# T\n\n## Main Steps\n- `a` (on_failure: rollback)\n\n## Postchecks\n\n## Main Steps\n- `b`\n",
    );
    expect(result.runbook).toBeDefined();
    expect(result.diagnostics.map((d) => [d.ruleId, d.severity])).toEqual([
      ["runbook/missing-rollback", "warning"],
      ["runbook/empty-phase", "warning"],
      ["runbook/duplicate-section", "warning"],
    ]);
    expect(result.runbook!.phases.main.map((s) => s.command)).toEqual(["a", "b"]);
  });

  it("turns warnings into errors when warningsAsErrors is set", () => {
    const result = parseRunbook("# T\n\n## Precheks\n\n## Main Steps\n- `a`\n", { warningsAsErrors: true });
    expect(result.runbook).toBeUndefined();
    expect(result.diagnostics.map((d) => d.severity)).toEqual(["error"]);
  });

  it("reports input that is not a string instead of throwing", () => {
    expect(rules(parseRunbook(undefined as unknown as string))).toEqual(["runbook/invalid-input"]);
    expect(rules(parseRunbook(42 as unknown as string))).toEqual(["runbook/invalid-input"]);
  });

  it("never throws and always returns well-formed diagnostics when given arbitrary text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "grapheme" }), markdownNoise), (markdown) => {
        const result = parseRunbook(markdown);
        expect(result.runbook === undefined).toBe(result.diagnostics.some((d) => d.severity === "error"));
        for (const d of result.diagnostics) {
          expect(d.line).toBeGreaterThanOrEqual(1);
          expect(d.column).toBeGreaterThanOrEqual(1);
          expect(d.ruleId).not.toBe("runbook/internal-error");
        }
        if (result.runbook) expect(RunbookSchema.safeParse(result.runbook).success).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("parseRunbookOrThrow", () => {
  it("returns the runbook when it has no errors", () => {
    expect(parseRunbookOrThrow(guide).title).toBe("Fix Database Connection");
  });

  it("throws one RW_ERR_RUNBOOK_INVALID error listing every error when the runbook is invalid", () => {
    let caught: unknown;
    try {
      parseRunbookOrThrow("## Precheks\n- `a` (severity: extreme)\n");
    } catch (err) {
      caught = err;
    }
    expect(isRunbookInvalidError(caught)).toBe(true);
    const error = caught as import("../src/errors.js").RunbookInvalidError;
    expect(error.code).toBe("RW_ERR_RUNBOOK_INVALID");
    expect(error.diagnostics.map((d) => d.ruleId)).toEqual(["runbook/missing-title", "runbook/missing-main"]);
    expect(error.message).toContain("runbook/missing-main");
  });
});

describe("docs/runbook-format.md", () => {
  it("documents every rule id the parser reports and its complete example parses cleanly", async () => {
    const { readFileSync, readdirSync } = await import("node:fs");
    const { join } = await import("node:path");
    const root = join(import.meta.dirname, "..");
    const doc = readFileSync(join(root, "../../docs/runbook-format.md"), "utf8");
    const sources = ["src", "src/internal", "src/rules"].flatMap((dir) =>
      readdirSync(join(root, dir))
        .filter((f) => f.endsWith(".ts"))
        .map((f) => readFileSync(join(root, dir, f), "utf8")),
    );
    const ruleIds = new Set(
      sources.flatMap((s) => [...s.matchAll(/"(runbook\/[a-z-]+)"/g)].map((m) => m[1]!)),
    );
    expect(ruleIds.size).toBeGreaterThan(15);
    for (const id of ruleIds) expect(doc, id).toMatch(new RegExp(`\\| \`${id}\` +\\|`));
    const example = /## A complete example\n\n````text\n([\s\S]*?)\n````/.exec(doc)![1]!;
    expect(parseRunbook(example).diagnostics).toEqual([]);
  });
});
