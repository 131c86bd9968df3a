import { describe, expect, it } from "vitest";
import { formatRunbook } from "../src/format.js";
import { parseRunbook } from "../src/parse.js";
import { withoutPositions } from "./arbitraries.js";

/** The `compensate` annotation: the command that undoes a step when the session rolls back. */

const main = (...lines: string[]) => `# T\n\n## Main Steps\n\n${lines.join("\n")}\n`;
const brief = (d: { ruleId: string; severity: string; line: number; column: number }) => [
  d.ruleId,
  d.severity,
  d.line,
  d.column,
];

describe("compensate annotation", () => {
  it("reads the command and its template references in a list item", () => {
    const { runbook, diagnostics } = parseRunbook(
      main(
        '- `systemctl stop {{ticket.service}}` (compensate: "systemctl start {{ ticket.service }} --now")',
      ),
    );
    expect(diagnostics).toEqual([]);
    const step = runbook!.phases.main[0]!;
    expect(step.compensate).toEqual({
      command: "systemctl start {{ ticket.service }} --now",
      variables: ["ticket.service"],
    });
    expect(step.variables).toEqual(["ticket.service"]);
  });

  it("reads it from fence attributes, key=value and JSON alike", () => {
    const { runbook, diagnostics } = parseRunbook(
      main(
        '```sql {compensate="UPDATE flags SET on = true WHERE name = {{ vars.flag }}" timeout=30s}',
        "UPDATE flags SET on = false;",
        "```",
        "",
        '```sh {"compensate": "echo up\\necho {{ticket.host}}", "idempotent": true}',
        "echo down",
        "```",
      ),
    );
    expect(diagnostics).toEqual([]);
    expect(runbook!.phases.main.map((s) => [s.language, s.compensate])).toEqual([
      [
        "sql",
        { command: "UPDATE flags SET on = true WHERE name = {{ vars.flag }}", variables: ["vars.flag"] },
      ],
      ["sh", { command: "echo up\necho {{ticket.host}}", variables: ["ticket.host"] }],
    ]);
  });

  it("accepts the aliases compensation and undo, in any key spelling", () => {
    const { runbook, diagnostics } = parseRunbook(
      main("- `a` (compensation: undo-a)", "- `b` (Undo: undo-b)", "- `c` (Compensate: 'undo c')"),
    );
    expect(diagnostics).toEqual([]);
    expect(runbook!.phases.main.map((s) => s.compensate?.command)).toEqual(["undo-a", "undo-b", "undo c"]);
  });

  it("suggests compensate when given a near misspelling", () => {
    const result = parseRunbook(main('- `a.sh` (compensat: "b.sh")'));
    expect(result.runbook).toBeUndefined();
    expect(result.diagnostics).toEqual([
      expect.objectContaining({
        ruleId: "runbook/unknown-annotation",
        line: 5,
        column: 11,
        message: expect.stringContaining('did you mean "compensate"?'),
      }),
    ]);
  });

  it("reports an empty or missing command as an invalid value at the value", () => {
    const result = parseRunbook(
      main('- `a.sh` (compensate: "  ")', "- `b.sh` (compensate)", '```sh {"compensate": 3}', "c", "```"),
    );
    expect(result.runbook).toBeUndefined();
    expect(result.diagnostics.map(brief)).toEqual([
      ["runbook/invalid-value", "error", 5, 23],
      ["runbook/invalid-value", "error", 6, 11],
      ["runbook/invalid-value", "error", 7, 8],
    ]);
    expect(result.diagnostics[0]!.message).toContain("expected the command that undoes this step");
  });

  it("reports a bad template in the compensate command where it stands", () => {
    const result = parseRunbook(
      main('- `a.sh` (compensate: "start {{ bad ref }}")', "- `b.sh` (compensate: start {{ticket.x)"),
    );
    expect(result.runbook).toBeUndefined();
    expect(result.diagnostics.map(brief)).toEqual([
      ["runbook/invalid-template", "error", 5, 30],
      ["runbook/invalid-template", "error", 6, 29],
    ]);
    expect(result.diagnostics[0]!.message).toMatch(/^compensate: /);
  });

  it("warns that a compensation of a precheck or a rollback step is ignored, and still loads", () => {
    const result = parseRunbook(
      "# T\n\n## Prechecks\n- `check` (compensate: x)\n\n## Main Steps\n- `go`\n\n## Rollback\n- `undo` (undo: y)\n",
    );
    expect(result.runbook).toBeDefined();
    expect(result.diagnostics.map(brief)).toEqual([
      ["runbook/ignored-compensation", "warning", 4, 12],
      ["runbook/ignored-compensation", "warning", 10, 11],
    ]);
    expect(result.runbook!.phases.prechecks[0]!.compensate).toEqual({ command: "x", variables: [] });
  });

  it("counts compensations as a rollback for on_failure: rollback", () => {
    const without = parseRunbook(main("- `a` (on_failure: rollback)"));
    expect(without.diagnostics.map((d) => d.ruleId)).toEqual(["runbook/missing-rollback"]);
    const withCompensation = parseRunbook(main("- `a` (on_failure: rollback, compensate: b)"));
    expect(withCompensation.diagnostics).toEqual([]);
  });

  it("is written back by formatRunbook in both step forms and parses to the same plan", () => {
    const first = parseRunbook(
      main(
        '- `systemctl stop nginx` (name: stop, compensate: "systemctl start nginx, (now)")',
        "",
        // A backtick fence's info string cannot hold a backtick; a tilde fence's can.
        '~~~sql {compensate="UPDATE t SET `x` = 1"}',
        "UPDATE t SET `x` = 0;",
        "~~~",
      ),
    );
    expect(first.diagnostics).toEqual([]);
    const formatted = formatRunbook(first.runbook!);
    expect(formatted).toContain(
      '- `systemctl stop nginx` (name: stop, compensate: "systemctl start nginx, (now)")',
    );
    expect(formatted).toContain('```sql {compensate="UPDATE t SET \\u0060x\\u0060 = 1"}');
    const again = parseRunbook(formatted);
    expect(again.diagnostics).toEqual([]);
    expect(withoutPositions(again.runbook!)).toEqual(withoutPositions(first.runbook!));
  });
});
