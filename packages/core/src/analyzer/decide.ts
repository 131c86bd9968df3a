/**
 * decide: auto-execute only an approved runbook whose score reaches the policy's
 * `autoExecuteThreshold` and whose front matter does not say `auto_execute: false`; otherwise
 * suggest the best candidate (drafts too) when it reaches `suggestThreshold`, or decide nothing.
 * A candidate the matcher vetoed (a technology conflict, or a runbook without a `match` block and
 * no strong evidence) is only ever suggested, with the veto as the reason. Only the best
 * candidate is considered: a weaker approved runbook never runs in place of a better draft.
 */
import type { Decision } from "../domain.js";
import type { Policy } from "../policy.js";
import type { RunbookMatch } from "./match-index.js";
import type { AnalyzerStage } from "./stage.js";

export const decideStage: AnalyzerStage = {
  name: "decide",
  run(state, { note, policy }) {
    state.decision = decide(state.matches[0], policy);
    note(`${state.decision.action}: ${state.decision.reason}`);
  },
};

/** The decision for the best candidate under a policy's thresholds. */
export function decide(
  best: RunbookMatch | undefined,
  policy: Pick<Policy, "autoExecuteThreshold" | "suggestThreshold">,
): Decision {
  if (!best) return { action: "none", reason: "no runbook matched" };
  const { candidate, autoExecute, veto } = best;
  const name = `"${candidate.runbookKey}" r${candidate.runbookVersion}`;
  if (candidate.score < policy.suggestThreshold) {
    return {
      action: "none",
      reason: `best match ${name} scored ${candidate.score}, below the suggest threshold ${policy.suggestThreshold}`,
    };
  }
  const why: string[] = [];
  if (candidate.status !== "approved") why.push(`it is ${candidate.status}`);
  if (!autoExecute) why.push("its front matter says auto_execute: false");
  if (candidate.score < policy.autoExecuteThreshold)
    why.push(`its score ${candidate.score} is below ${policy.autoExecuteThreshold}`);
  if (veto) why.push(veto.replace(/^not run automatically: /, ""));
  if (why.length === 0) {
    return {
      action: "auto_execute",
      runbookId: candidate.runbookId,
      reason: `${name} is approved and scored ${candidate.score} (threshold ${policy.autoExecuteThreshold})`,
    };
  }
  return {
    action: "suggest",
    runbookId: candidate.runbookId,
    reason: `suggest ${name}; not run automatically because ${why.join(" and ")}`,
  };
}
