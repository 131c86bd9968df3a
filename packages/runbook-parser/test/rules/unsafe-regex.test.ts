import { describe, expect, it } from "vitest";
import { parseRunbook } from "../../src/parse.js";

const runbook = (step: string, frontMatter = "") => `${frontMatter}# Check\n\n## Main Steps\n\n${step}\n`;

const unsafe = (md: string) =>
  parseRunbook(md).diagnostics.filter((d) => d.ruleId === "runbook/unsafe-regex");

describe("runbook/unsafe-regex", () => {
  it("reports an expect output pattern that can backtrack catastrophically at its line and column", () => {
    const result = parseRunbook(runbook("- `systemctl status app` (expect: /(a+)+$/)"));
    expect(result.runbook).toBeUndefined();
    expect(result.diagnostics).toEqual([
      expect.objectContaining({
        severity: "error",
        ruleId: "runbook/unsafe-regex",
        line: 5,
        column: 35,
        endColumn: 43,
      }),
    ]);
    expect(result.diagnostics[0]!.message).toMatch(
      /^expect: \/\(a\+\)\+\$\/ can backtrack catastrophically on output that almost matches: "a\+" inside "\(a\+\)\+" .* rather than /,
    );
  });

  it.each([
    ["(a+)+$", '- `check` (expect_output: "(a+)+$")'],
    ["(.*a){20}", '- `check` (expect_output: "(.*a){20}")'],
    ["(a|aa)+", "- `check` (expect: /(a|aa)+/)"],
  ])("flags %s in an expect annotation", (_pattern, step) => {
    expect(unsafe(runbook(step))).toHaveLength(1);
  });

  it("flags a pattern in the JSON form of fence attributes, at its key", () => {
    const md = runbook('```sh {"expect": {"output": "(a|aa)+"}}\ncheck\n```');
    expect(unsafe(md)).toEqual([expect.objectContaining({ line: 5, column: 8 })]);
  });

  it.each(["^active$", "error|failed"])("accepts %s", (pattern) => {
    const result = parseRunbook(runbook(`- \`check\` (expect_output: "${pattern}")`));
    expect(result.diagnostics).toEqual([]);
    expect(result.runbook?.phases.main[0]?.expect).toEqual({ output: pattern });
  });

  it("reports a front matter match pattern that can backtrack catastrophically at its line and column", () => {
    const md = runbook(
      "- `check`",
      '---\nmatch:\n  keywords: [disk]\n  title_pattern: "^(\\\\w+\\\\s?)+$"\n---\n',
    );
    const found = unsafe(md);
    expect(found).toEqual([expect.objectContaining({ line: 4, column: 18 })]);
    expect(found[0]!.message).toMatch(/^front matter match\.title_pattern .* ticket text/);
  });

  it("accepts ordinary front matter match patterns", () => {
    const md = runbook(
      "- `check`",
      '---\nmatch:\n  title_pattern: "error|failed"\n  description_pattern: ^active$\n---\n',
    );
    expect(parseRunbook(md).diagnostics).toEqual([]);
  });
});
