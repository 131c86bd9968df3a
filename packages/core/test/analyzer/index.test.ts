import { describe, expect, it } from "vitest";
import { builtInStages, createAnalyzer } from "../../src/analyzer/index.js";
import type { AnalysisSubject, AnalyzerStage } from "../../src/analyzer/stage.js";
import { isRunwardenError } from "../../src/errors.js";
import { loadSampleRunbooks, makeContext, makeIntake } from "../support/engine-context.js";

const subject = (over: Partial<AnalysisSubject> = {}): AnalysisSubject => ({
  title: "Disk full on build agent",
  description: "No space left on device (ENOSPC) writing to /tmp on ci-agent-07.internal",
  severity: "high",
  environment: "development",
  service: "CI",
  source: "datadog",
  externalId: null,
  sourceFingerprint: null,
  metaData: {},
  ...over,
});

describe("createAnalyzer", () => {
  it("runs every built-in stage in order and traces each when analyzing", async () => {
    const { ctx, runbooks } = await makeIntake();
    await loadSampleRunbooks(runbooks);
    const analyzer = createAnalyzer(ctx, { runbooks });
    const { ticket, fingerprint, analysis } = await analyzer.analyze(subject());
    expect(analysis.trace.map((t) => t.stage)).toEqual([
      "normalize",
      "extract",
      "fingerprint",
      "categorize",
      "match",
      "decide",
    ]);
    expect(ticket).toMatchObject({ environment: "dev", service: "ci" });
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(analysis.category).toBe("disk");
    expect(analysis.entities.hosts).toEqual(["ci-agent-07.internal"]);
    expect(analysis.candidates[0]).toMatchObject({ runbookKey: "disk-space-cleanup", status: "approved" });
    expect(analysis.decision).toMatchObject({
      action: "auto_execute",
      runbookId: analysis.candidates[0]?.runbookId,
    });
  });

  it("suggests instead of auto-executing when the runbook is a draft, says auto_execute: false, or scores low", async () => {
    const { ctx, runbooks } = await makeIntake();
    await loadSampleRunbooks(runbooks);
    const analyzer = createAnalyzer(ctx, { runbooks });
    const cpu = await analyzer.analyze(
      subject({
        title: "High CPU usage on api-prod-02",
        description: "CPU at 97%",
        service: "api",
        environment: "prod",
      }),
    );
    expect(cpu.analysis.decision.action).toBe("suggest");
    expect(cpu.analysis.decision.reason).toContain("auto_execute: false");
    const tls = await analyzer.analyze(
      subject({
        title: "TLS certificate expiring in 7 days",
        description: "",
        service: "nginx",
        environment: "prod",
      }),
    );
    expect(tls.analysis.decision.reason).toContain("it is draft");
  });

  it("decides nothing, with a reason, when no runbook matches", async () => {
    const { ctx, runbooks } = await makeIntake();
    await loadSampleRunbooks(runbooks);
    const { analysis } = await createAnalyzer(ctx, { runbooks }).analyze(
      subject({ title: "Printer on floor 3 offline", description: "paper tray jammed", service: "printer" }),
    );
    expect(analysis.decision).toEqual({ action: "none", reason: "no runbook matched" });
  });

  it("auto-executes only above the policy threshold when the threshold is raised", async () => {
    const { ctx, runbooks } = await makeIntake({ policy: { autoExecuteThreshold: 0.99 } });
    await loadSampleRunbooks(runbooks);
    const { analysis } = await createAnalyzer(ctx, { runbooks }).analyze(subject());
    expect(analysis.decision.action).toBe("suggest");
    expect(analysis.decision.reason).toContain("below 0.99");
  });

  it("runs host stages after the built-in ones and traces a failing one without throwing", async () => {
    const { ctx, runbooks } = await makeIntake();
    const owner: AnalyzerStage = {
      name: "owner",
      run(state, { note }) {
        state.category = "custom";
        note("set by host");
      },
    };
    const broken: AnalyzerStage = {
      name: "broken",
      run() {
        throw new Error("LLM unavailable");
      },
    };
    const { analysis } = await createAnalyzer(ctx, { runbooks, stages: [owner, broken] }).analyze(subject());
    expect(analysis.category).toBe("custom");
    expect(analysis.trace.slice(-2)).toEqual([
      { stage: "owner", notes: ["set by host"] },
      { stage: "broken", notes: ["failed: LLM unavailable"] },
    ]);
  });

  it("lets a host replace the list when given a function", async () => {
    const { ctx, runbooks } = makeIntakeSync();
    const analyzer = createAnalyzer(ctx, {
      runbooks,
      stages: (built) => built.filter((s) => s.name !== "match"),
    });
    expect(analyzer.stages.map((s) => s.name)).toEqual(
      builtInStages.map((s) => s.name).filter((n) => n !== "match"),
    );
    const { analysis, fingerprint } = await analyzer.analyze(subject());
    expect(analysis.decision.action).toBe("none");
    expect(fingerprint).toHaveLength(64);
  });

  it("throws RW_ERR_CONFIG_INVALID when two stages share a name", () => {
    const { ctx, runbooks } = makeIntakeSync();
    try {
      createAnalyzer(ctx, { runbooks, stages: [{ name: "match", run() {} }] });
      expect.unreachable();
    } catch (err) {
      expect(isRunwardenError(err) && err.code).toBe("RW_ERR_CONFIG_INVALID");
    }
  });

  it("identifies a ticket by its normalized fingerprint when asked to identify only", () => {
    const { ctx, runbooks } = makeIntakeSync();
    const analyzer = createAnalyzer(ctx, { runbooks });
    const a = analyzer.identify(subject({ environment: "production" }));
    const b = analyzer.identify(subject({ environment: "prod" }));
    expect(a.fingerprint).toBe(b.fingerprint);
  });
});

function makeIntakeSync() {
  const { ctx } = makeContext();
  // The runbooks API is only consulted by the match stage.
  const runbooks = { match: async () => [] } as unknown as Parameters<typeof createAnalyzer>[1]["runbooks"];
  return { ctx, runbooks };
}
