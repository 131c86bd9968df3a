/**
 * Safe matching against the sample library, loaded as the example server loads it (every runbook
 * approved unless its front matter keeps it a draft): the connector guide's "Fix Database
 * Connection" (no front matter, restarts PostgreSQL) never runs for another database's ticket.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createAnalyzer } from "../../src/analyzer/index.js";
import type { AnalysisSubject } from "../../src/analyzer/stage.js";
import type { RunbooksApi } from "../../src/runbooks.js";
import { admin, makeIntake, runbooksDir } from "../support/engine-context.js";

/** As examples/server's setup: create with the front matter's status, approve the rest. */
async function loadAsExampleServer(runbooks: RunbooksApi): Promise<void> {
  for (const file of readdirSync(runbooksDir)
    .filter((f) => f.endsWith(".md") && f !== "README.md")
    .sort()) {
    const { runbook } = await runbooks.create(readFileSync(join(runbooksDir, file), "utf8"), {
      actor: admin,
      useFrontMatterStatus: true,
    });
    if (
      runbook.status === "draft" &&
      !/^status:\s*draft/m.test(readFileSync(join(runbooksDir, file), "utf8"))
    )
      await runbooks.approve(runbook.id, { actor: admin });
  }
}

const subject = (over: Partial<AnalysisSubject>): AnalysisSubject => ({
  title: "",
  description: "",
  severity: "high",
  environment: "prod",
  service: "",
  source: "manual",
  externalId: null,
  sourceFingerprint: null,
  metaData: {},
  ...over,
});

async function analyzer() {
  const { ctx, runbooks } = await makeIntake();
  await loadAsExampleServer(runbooks);
  return createAnalyzer(ctx, { runbooks });
}

describe("safe matching against the sample runbooks", () => {
  it("never auto-executes the PostgreSQL 'Fix Database Connection' runbook for a MySQL ticket, and says why", async () => {
    const a = await analyzer();
    const { analysis } = await a.analyze(
      subject({
        title: "Database connection failed",
        description:
          "MySQL: ERROR 2002 (HY000): Can't connect to local MySQL server through socket; fix the database connection",
        service: "orders-db",
      }),
    );
    const best = analysis.candidates[0];
    expect(best?.runbookKey).toBe("fix-database-connection");
    expect(best?.status).toBe("approved");
    expect(analysis.decision.action).not.toBe("auto_execute");
    expect(analysis.decision.reason).toContain("the ticket names MySQL but the runbook is about PostgreSQL");
    expect(best?.reasons).toContain(
      "not run automatically: the ticket names MySQL but the runbook is about PostgreSQL",
    );
  });

  it("never auto-executes 'Fix Database Connection' for an Oracle ticket", async () => {
    const a = await analyzer();
    const { analysis } = await a.analyze(
      subject({
        title: "Fix database connection: ORA-12541 TNS no listener",
        description: "Oracle database connection refused from billing",
        service: "billing",
      }),
    );
    expect(analysis.candidates.map((c) => c.runbookKey)).toContain("fix-database-connection");
    expect(analysis.decision.action).not.toBe("auto_execute");
  });

  it("still auto-executes 'Fix Database Connection' for a PostgreSQL ticket", async () => {
    const a = await analyzer();
    const { analysis } = await a.analyze(
      subject({
        title: "Database connection timeout",
        description: "Unable to connect to PostgreSQL: fix database connection",
        service: "database",
      }),
    );
    expect(analysis.candidates[0]?.runbookKey).toBe("fix-database-connection");
    expect(analysis.decision.action).toBe("auto_execute");
  });

  it("shows the reasons in the ticket's own words, never a stemmed term such as 'databas'", async () => {
    const a = await analyzer();
    const { analysis } = await a.analyze(
      subject({ title: "Database connection failed", description: "MySQL refuses connections" }),
    );
    const text = [...analysis.candidates.flatMap((c) => c.reasons), analysis.decision.reason].join("\n");
    expect(text).toContain("database");
    expect(text).not.toMatch(/\bdatabas\b|\bconnect\b(?!ion)/);
  });
});
