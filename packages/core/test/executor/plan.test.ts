/** The language a step is rendered and run in on its connection (issue 13, item 2). */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineConnector, type ExecRequest } from "../../src/index.js";
import { alice, type Harness, harness } from "./helpers.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A SQL-like connector that records what it is asked to run and answers with a row. */
function fakeSql(seen: ExecRequest[], languages: readonly string[] | null) {
  return defineConnector({
    kind: "infrastructure",
    name: "fake-sql",
    version: "1.0.0",
    sdk: "^0.1.0",
    configSchema: z.object({}),
    capabilities: ["run-query"],
    connectionTypes: ["database:fakedb"],
    ...(languages ? { languages } : {}),
    create: () => ({
      open: async () => ({
        async exec(request: ExecRequest) {
          seen.push(request);
          return { exitCode: 0, stdout: "ok\n", stderr: "" };
        },
        release: async () => {},
      }),
      healthCheck: async () => ({ ok: true, latencyMs: 1 }),
    }),
  });
}

async function sqlHarness(seen: ExecRequest[], languages: readonly string[] | null = ["sql"]) {
  h = await harness({ connectors: [fakeSql(seen, languages)] });
  await h.engine.connections.create({
    name: "db",
    connectionType: "database",
    targetService: "fakedb",
    environment: "prod",
  });
  return h;
}

const hostile = "x\\' or 1=1 #";

describe("the language of a step on its connection", () => {
  it("binds ticket values as SQL parameters when a list-item step runs on a SQL connection", async () => {
    const seen: ExecRequest[] = [];
    const h = await sqlHarness(seen);
    const ticket = await h.ticket({ service: hostile });
    const runbookId = await h.runbook(
      "# Q\n\n## Main Steps\n- `SELECT * FROM users WHERE name = {{ticket.service}}` (connection: db)\n",
    );
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    expect((await h.engine.executions.settled(session.id)).status).toBe("succeeded");
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      language: "sql",
      sql: { parts: ["SELECT * FROM users WHERE name = ", ""], values: [hostile] },
    });
    // The value never becomes SQL text: the statement sent is the parts joined by a placeholder.
    expect(seen[0]!.sql!.parts.join("")).not.toContain("or 1=1");
    const detail = await h.engine.executions.get(session.id);
    expect(detail.steps[0]?.language).toBe("sql");
  });

  it("uses the connection's language for a step whose language the front matter connection decides", async () => {
    const seen: ExecRequest[] = [];
    const h = await sqlHarness(seen);
    const ticket = await h.ticket({ title: "; DROP TABLE t; #" });
    const runbookId = await h.runbook(
      "---\nconnection: db\n---\n# Q\n\n## Main Steps\n- `DELETE FROM jobs WHERE svc = {{ticket.title}}`\n",
    );
    const { plan } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice, dryRun: true });
    expect(plan?.[0]).toMatchObject({ language: "sql", error: null });
    expect(plan?.[0]?.rendered).toBe("DELETE FROM jobs WHERE svc = '; DROP TABLE t; #'");
  });

  it("refuses a step fenced as sh on a SQL connection with its line and column and what to write", async () => {
    const seen: ExecRequest[] = [];
    const h = await sqlHarness(seen);
    const ticket = await h.ticket({ service: hostile });
    const runbookId = await h.runbook(
      "# Q\n\n## Main Steps\n\n```sh {connection=db}\nSELECT {{ticket.service}}\n```\n",
    );
    const { plan } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice, dryRun: true });
    expect(plan?.[0]?.error).toMatch(/RW_ERR_EXEC_CONNECTION/);
    expect(plan?.[0]?.error).toMatch(/line 5:1/);
    expect(plan?.[0]?.error).toMatch(/```sql fence/);
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    expect((await h.engine.executions.settled(session.id)).status).toBe("failed");
    expect(seen).toHaveLength(0);
  });

  it("refuses an explicit language annotation the connection does not run", async () => {
    const seen: ExecRequest[] = [];
    const h = await sqlHarness(seen);
    const ticket = await h.ticket();
    const runbookId = await h.runbook(
      "# Q\n\n## Main Steps\n- `print(1)` (language: python, connection: db)\n",
    );
    const { plan } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice, dryRun: true });
    expect(plan?.[0]?.error).toMatch(/written as python, but connection "db" \(database:fakedb\) runs sql/);
  });

  it("keeps a defaulted step in sh on a connector that declares no languages", async () => {
    const seen: ExecRequest[] = [];
    const h = await sqlHarness(seen, null);
    const ticket = await h.ticket({ service: "a b" });
    const runbookId = await h.runbook("# Q\n\n## Main Steps\n- `echo {{ticket.service}}` (connection: db)\n");
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    expect(seen[0]).toMatchObject({ language: "sh", command: "echo 'a b'" });
  });

  it("binds the approval to the language the step runs in", async () => {
    const seen: ExecRequest[] = [];
    const h = await sqlHarness(seen);
    const ticket = await h.ticket({ service: "db1" });
    const runbookId = await h.runbook(
      "# Q\n\n## Main Steps\n- `SELECT {{ticket.service}}` (connection: db)\n\n```sql {connection=db}\nSELECT {{ticket.service}}\n```\n",
    );
    const { plan } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice, dryRun: true });
    expect(plan?.map((p) => [p.language, p.rendered])).toEqual([
      ["sql", "SELECT 'db1'"],
      ["sql", "SELECT 'db1'"],
    ]);
  });

  it("runs a defaulted step in sh on the local connection", async () => {
    h = await harness();
    const ticket = await h.ticket({ service: "it's" });
    const runbookId = await h.runbook("# Q\n\n## Main Steps\n- `echo {{ticket.service}}`\n");
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    const detail = await h.engine.executions.get(session.id);
    expect(detail.steps[0]).toMatchObject({ language: "sh", stdout: "it's\n", status: "succeeded" });
  });
});

describe("linting a runbook whose step names a connection", () => {
  it("gives the same runbook/connection-language warning an upload gives, storing nothing", async () => {
    const h = await sqlHarness([]);
    const { diagnostics, plan } = await h.engine.runbooks.lint(
      "---\nconnection: db\n---\n# Q\n\n## Main Steps\n```sh\necho {{ticket.service}}\n```\n",
    );
    expect(plan).not.toBeNull();
    expect(diagnostics).toEqual([
      expect.objectContaining({
        ruleId: "runbook/connection-language",
        severity: "warning",
        line: 7,
        column: 1,
      }),
    ]);
    expect((await h.engine.runbooks.list()).items).toEqual([]);
  });
});

describe("creating a runbook whose step names a connection", () => {
  it("warns with runbook/connection-language when a step declares a language the connection does not run", async () => {
    const h = await sqlHarness([]);
    const { warnings } = await h.engine.runbooks.create(
      "---\nconnection: db\n---\n# Q\n\n## Main Steps\n- `SELECT 1`\n\n```sh\necho {{ticket.service}}\n```\n\n```sql\nSELECT 2\n```\n",
      { actor: { id: "author", roles: ["admin"] } },
    );
    expect(warnings).toEqual([
      expect.objectContaining({
        ruleId: "runbook/connection-language",
        severity: "warning",
        line: 9,
        column: 1,
        message: expect.stringMatching(/written as sh, but connection "db" runs sql steps.*```sql fence/),
      }),
    ]);
  });
});
