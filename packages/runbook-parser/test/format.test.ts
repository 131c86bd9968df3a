import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatRunbook } from "../src/format.js";
import { parseRunbook } from "../src/parse.js";
import { RunbookSchema } from "../src/schema.js";
import { runbookArbitrary, withoutPositions } from "./arbitraries.js";

const guide = `# Fix Database Connection

## Prechecks
- \`check_db_status.sh\` (requires_approval: true)

## Main Steps
- \`restart_db_service.sh\` (severity: high_risk, requires_approval: true)

## Postchecks
- \`verify_db_connection.sh\`
`;

describe("formatRunbook", () => {
  it("writes the canonical form when given the connector guide's runbook", () => {
    const runbook = parseRunbook(guide).runbook!;
    expect(formatRunbook(runbook)).toBe(`# Fix Database Connection

## Prechecks

- \`check_db_status.sh\` (requires_approval: true)

## Main Steps

- \`restart_db_service.sh\` (severity: high_risk, requires_approval: true)

## Postchecks

- \`verify_db_connection.sh\`
`);
  });

  it("writes front matter, fences with attributes and descriptions when the runbook has them", () => {
    const markdown = `---
id: fix-db
version: 2
status: approved
match:
  services: [database]
  title_pattern: connection (refused|timeout)
connection: prod-db-01
timeout: 10m
variables:
  port: 5432
auto_execute: false
---
# Fix DB

Restores connections.

## Main Steps

\`\`\`sql {name=kill requires_approval=true timeout=30s connection=prod-db-01}
SELECT pg_terminate_backend(pid)
FROM pg_stat_activity WHERE state = 'idle';
\`\`\`

Ends idle sessions.

- \`systemctl restart postgresql\` (severity: high_risk, retries: 2, on_failure: rollback)

  Restarts the server.

## Rollback

- \`systemctl start postgresql\` (idempotent: true, expect_exit_code: 0, expect_output: "active, running")

## Contacts

Page the DBA.
`;
    const first = parseRunbook(markdown);
    expect(first.diagnostics).toEqual([]);
    const formatted = formatRunbook(first.runbook!);
    expect(formatted).toBe(`---
id: fix-db
version: 2
status: approved
match:
  services:
    - database
  title_pattern: connection (refused|timeout)
connection: prod-db-01
timeout: 10m
variables:
  port: "5432"
auto_execute: false
---

# Fix DB

Restores connections.

## Main Steps

\`\`\`sql {name=kill requires_approval=true timeout=30s connection=prod-db-01}
SELECT pg_terminate_backend(pid)
FROM pg_stat_activity WHERE state = 'idle';
\`\`\`

Ends idle sessions.

- \`systemctl restart postgresql\` (severity: high_risk, requires_approval: true, retries: 2, on_failure: rollback)

  Restarts the server.

## Rollback

- \`systemctl start postgresql\` (expect_exit_code: 0, expect_output: "active, running", idempotent: true)

## Contacts

Page the DBA.
`);
    expect(withoutPositions(parseRunbook(formatted).runbook!)).toEqual(withoutPositions(first.runbook!));
  });

  it("keeps whether a step's language was declared or defaulted", () => {
    const markdown = "# T\n\n## Main Steps\n\n```sh\nuptime\n```\n\n```{retries=1}\nls\nls -l\n```\n";
    const formatted = formatRunbook(parseRunbook(markdown).runbook!);
    expect(formatted).toContain("```sh\nuptime\n```");
    expect(formatted).toContain("```{retries=1}\nls\nls -l\n```");
    const steps = parseRunbook(formatted).runbook!.phases.main;
    expect(steps.map((s) => s.languageDeclared ?? false)).toEqual([true, false]);
  });

  it("uses a longer fence when the command itself contains a fence", () => {
    const runbook = parseRunbook("# T\n\n## Main Steps\n\n````sh\necho '```'\nls\n````\n").runbook!;
    const formatted = formatRunbook(runbook);
    expect(formatted).toContain("````sh\necho '```'\nls\n````");
    expect(parseRunbook(formatted).runbook!.phases.main[0]!.command).toBe("echo '```'\nls");
  });

  it("round-trips when given generated runbooks (positions aside)", () => {
    fc.assert(
      fc.property(runbookArbitrary, (runbook) => {
        expect(RunbookSchema.safeParse(runbook).success).toBe(true);
        const markdown = formatRunbook(runbook);
        const result = parseRunbook(markdown);
        expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
        expect(withoutPositions(result.runbook!)).toEqual(withoutPositions(runbook));
      }),
      { numRuns: 300 },
    );
  });

  it("is idempotent when given its own output", () => {
    fc.assert(
      fc.property(runbookArbitrary, (runbook) => {
        const once = formatRunbook(runbook);
        expect(formatRunbook(parseRunbook(once).runbook!)).toBe(once);
      }),
      { numRuns: 100 },
    );
  });
});
