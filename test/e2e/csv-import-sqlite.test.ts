import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Actor, createEngine } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { afterEach, describe, expect, it } from "vitest";

const repo = join(import.meta.dirname, "../..");
const admin: Actor = { id: "e2e", roles: ["admin"] };
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("TicketsApi.importCsv on SQLite", () => {
  it("imports the sample file, folds a repeat and keeps matching after a reopen when stored in SQLite", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rw-csv-sqlite-"));
    dirs.push(dir);
    const path = join(dir, "tickets.db");
    const engine = await createEngine({ storage: createSqliteStorage({ path }) });
    const runbooks = join(repo, "examples/runbooks");
    for (const file of readdirSync(runbooks).filter((f) => f.endsWith(".md") && f !== "README.md")) {
      await engine.runbooks.create(readFileSync(join(runbooks, file), "utf8"), {
        actor: admin,
        useFrontMatterStatus: true,
      });
    }
    const csv = readFileSync(join(repo, "tickets_sample.csv"), "utf8");
    const repeat = csv.split("\n")[1];
    const result = await engine.tickets.importCsv(`${csv.trimEnd()}\n${repeat}\n,missing title,low,,,\n`);
    expect(result).toMatchObject({ rows: 42, imported: 40, deduplicated: 1, rejected: 1 });
    expect(result.errors).toEqual([{ row: 42, line: 43, reason: "title is required" }]);
    expect((await engine.tickets.get(result.ticketIds![0]!)).occurrences).toBe(2);
    await engine.close();

    const reopened = await createEngine({ storage: createSqliteStorage({ path }) });
    const disk = await reopened.tickets.get(result.ticketIds![6]!);
    expect(disk.analysis?.candidates[0]?.runbookKey).toBe("disk-space-cleanup");
    const matches = await reopened.runbooks.match({
      title: disk.title,
      description: disk.description,
      service: disk.service,
      environment: disk.environment,
      severity: disk.severity,
      source: disk.source,
    });
    expect(matches[0]?.candidate.runbookKey).toBe("disk-space-cleanup");
    await reopened.close();
  });

  it("stores each analysis without its trace in SQLite, and a reopened engine recomputes the trace it decided by", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rw-csv-sqlite-"));
    dirs.push(dir);
    const path = join(dir, "tickets.db");
    const engine = await createEngine({ storage: createSqliteStorage({ path }) });
    const runbooks = join(repo, "examples/runbooks");
    for (const file of readdirSync(runbooks).filter((f) => f.endsWith(".md") && f !== "README.md")) {
      await engine.runbooks.create(readFileSync(join(runbooks, file), "utf8"), {
        actor: admin,
        useFrontMatterStatus: true,
      });
    }
    const result = await engine.tickets.importCsv(readFileSync(join(repo, "tickets_sample.csv"), "utf8"));
    await engine.close();

    const reopened = await createEngine({ storage: createSqliteStorage({ path }) });
    for (const id of new Set(result.ticketIds)) {
      const ticket = await reopened.tickets.get(id);
      const analysis = ticket.analysis!;
      expect(analysis).not.toHaveProperty("trace");
      const { origin, matchesStored, trace } = await reopened.tickets.analysisTrace(id);
      expect({ id, origin, matchesStored }).toEqual({ id, origin: "recomputed", matchesStored: true });
      expect(trace.map((t) => t.stage)).toEqual([
        "normalize",
        "extract",
        "fingerprint",
        "categorize",
        "match",
        "decide",
      ]);
      // The decide stage notes the decision that was stored, reason and all.
      expect(trace.at(-1)!.notes).toEqual([`${analysis.decision.action}: ${analysis.decision.reason}`]);
    }
    await reopened.close();
  });
});
