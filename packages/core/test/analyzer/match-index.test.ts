import { describe, expect, it } from "vitest";
import { type IndexablePlan, type MatchQuery, RunbookIndex } from "../../src/analyzer/match-index.js";

function plan(
  title: string,
  match: NonNullable<IndexablePlan["metadata"]["match"]> = {},
  commands = ["true"],
  autoExecute?: boolean,
): IndexablePlan {
  return {
    title,
    metadata: { match, ...(autoExecute === undefined ? {} : { autoExecute }) },
    phases: { main: commands.map((command) => ({ name: command, command })) },
  };
}

const record = (id: number, status: "draft" | "approved" = "approved") => ({
  id,
  key: `k${id}`,
  revision: 1,
  title: `R${id}`,
  status,
});

const ticket = (over: Partial<MatchQuery> = {}): MatchQuery => ({
  title: "Disk full on build agent",
  description: "No space left on device (ENOSPC) writing to /tmp",
  service: "ci",
  environment: "dev",
  severity: "high",
  source: "datadog",
  ...over,
});

describe("RunbookIndex", () => {
  it("ranks the runbook with matching keywords first and explains why when several match", () => {
    const index = new RunbookIndex();
    index.upsert(
      record(1),
      plan(
        "Disk Space Cleanup",
        { services: ["ci"], keywords: ["disk full", "ENOSPC"], titlePattern: "[Dd]isk" },
        ["df -h /"],
      ),
    );
    index.upsert(record(2), plan("Restart build agent", {}, ["systemctl restart agent"]));
    const [best, second] = index.match(ticket());
    expect(best?.candidate.runbookId).toBe(1);
    expect(best?.candidate.reasons).toEqual(
      expect.arrayContaining([
        "keyword 'disk full' in title",
        "keyword 'enospc' in description",
        "title_pattern matched",
        "service=ci matched",
      ]),
    );
    expect(best!.candidate.score).toBeGreaterThan(second!.candidate.score);
    expect(best!.candidate.score).toBeLessThanOrEqual(1);
    expect(second!.candidate.score).toBeGreaterThan(0);
  });

  it("filters out a runbook scoped to other services, environments, severities or sources", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Disk cleanup", { services: ["nginx"] }));
    index.upsert(record(2), plan("Disk cleanup", { environments: ["prod"] }));
    index.upsert(record(3), plan("Disk cleanup", { severities: ["critical"] }));
    index.upsert(record(4), plan("Disk cleanup", { sources: ["zabbix"] }));
    index.upsert(record(5), plan("Disk cleanup", { services: ["CI"], environments: ["dev"] }));
    expect(index.match(ticket()).map((m) => m.candidate.runbookId)).toEqual([5]);
  });

  it("finds a runbook by a stemmed word when the ticket uses another form", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Fix Database Connection"));
    const [best] = index.match(ticket({ title: "Too many database connections", description: "" }));
    expect(best?.candidate.reasons[0]).toMatch(/^text: 2 of 3 title terms/);
  });

  it("returns nothing when no runbook shares a word with the ticket", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Renew TLS certificate"));
    expect(index.match(ticket({ title: "Printer offline", description: "paper jam" }))).toEqual([]);
  });

  it("carries auto_execute from the front matter when the runbook sets it", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Disk cleanup", {}, ["true"], false));
    expect(index.match(ticket())[0]?.autoExecute).toBe(false);
  });

  it("forgets a runbook when it is removed and updates status when it changes", () => {
    const index = new RunbookIndex();
    index.upsert(record(1, "draft"), plan("Disk cleanup"));
    index.setStatus(1, "approved");
    expect(index.match(ticket())[0]?.candidate.status).toBe("approved");
    index.remove(1);
    expect(index.match(ticket())).toEqual([]);
    expect(index.size).toBe(0);
  });

  it("reuses a removed runbook's slot without mixing the two when runbooks change", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Disk cleanup"));
    index.upsert(record(2), plan("Printer queue reset"));
    index.remove(1);
    index.upsert(record(3), plan("Certificate renewal"));
    expect(index.match(ticket())).toEqual([]);
    expect(
      index.match(ticket({ title: "Printer queue stuck", description: "" }))[0]?.candidate.runbookId,
    ).toBe(2);
    expect(
      index.match(ticket({ title: "Certificate expiring", description: "" }))[0]?.candidate.runbookId,
    ).toBe(3);
    index.upsert(record(2), plan("Disk cleanup"));
    expect(index.match(ticket()).map((m) => m.candidate.runbookId)).toEqual([2]);
  });

  it("keeps scores comparable with the pattern of a hostile ticket when the title is long", () => {
    const index = new RunbookIndex();
    index.upsert(record(1), plan("Disk cleanup", { descriptionPattern: "ENOSPC" }));
    const started = performance.now();
    index.match(ticket({ description: `${"disk ".repeat(10_000)}ENOSPC` }));
    expect(performance.now() - started).toBeLessThan(50);
  });

  it("answers from thousands of runbooks without scanning them when loaded", () => {
    const index = new RunbookIndex();
    for (let i = 1; i <= 3_000; i++) {
      index.upsert(
        record(i),
        plan(`Runbook ${i} for service-${i % 97} widget${i}`, { services: [`svc${i % 50}`] }, [
          `fix-${i}.sh`,
        ]),
      );
    }
    index.upsert(record(5_000), plan("Disk Space Cleanup", { keywords: ["disk full"] }));
    const started = performance.now();
    for (let i = 0; i < 200; i++) index.match(ticket());
    expect((performance.now() - started) / 200).toBeLessThan(5);
    expect(index.match(ticket())[0]?.candidate.runbookId).toBe(5_000);
  });
});
