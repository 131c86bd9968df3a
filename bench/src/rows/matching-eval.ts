import { runMatchingEval } from "../../../packages/core/test/fixtures/matching-eval/evaluate.js";
import { type BenchRow, defineRows } from "../harness.js";

/**
 * The labelled matching evaluation (packages/core/test/fixtures/matching-eval): wrong
 * auto-executions (goal 0), auto-execute precision and recall@3 of the candidates. No baseline:
 * the figures before the veto are in docs/matching.md (48 wrong auto-executions out of 297).
 */
export default defineRows("Matching evaluation", async () => {
  const r = await runMatchingEval();
  const note = `${r.tickets} labelled tickets, ${r.runbooks} runbooks; ${r.autoExecutions} auto-executions; auto-execute recall ${r.autoExecuteRecall}`;
  const rows: BenchRow[] = [
    {
      name: "matching eval: wrong auto-executions",
      unit: "tickets",
      value: r.wrongAutoExecutions,
      baseline: Number.NaN,
      ratio: Number.NaN,
      goal: "= 0",
      met: r.wrongAutoExecutions === 0,
      note,
    },
    {
      name: "matching eval: auto-execute precision",
      unit: "share",
      value: r.autoExecutePrecision,
      baseline: Number.NaN,
      ratio: Number.NaN,
      goal: "= 1",
      met: r.autoExecutePrecision === 1,
      note,
    },
    {
      name: "matching eval: recall@3 of suggestions",
      unit: "share",
      value: r.recallAt3,
      baseline: Number.NaN,
      ratio: Number.NaN,
      goal: ">= 0.9",
      met: r.recallAt3 >= 0.9,
      note,
    },
  ];
  return rows;
});
