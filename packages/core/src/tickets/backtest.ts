/**
 * CSV backtest: each row analyzed and, when a runbook is chosen, its plan rendered for the row as
 * a session would — the way to try a runbook library on last month's tickets. Nothing is stored,
 * run or announced; rows past the bound are counted only.
 */
import type { Analyzer } from "../analyzer/index.js";
import { normalizeSeverity } from "../analyzer/normalize.js";
import type { Ticket } from "../domain.js";
import { isRunwardenError } from "../errors.js";
import type { PreviewPlan } from "../executor/start.js";
import type { EngineContext } from "../internal/context.js";
import { readTicketCsv } from "../internal/csv.js";
import type { Intake } from "./intake.js";
import type { CsvBacktestResult, CsvBacktestRow, TicketsApi } from "./types.js";

const defaultRows = 200;
const maxRows = 1_000;

/** Creates `backtestCsv`. */
export function createCsvBacktest(
  ctx: EngineContext,
  deps: { analyzer: Analyzer; intake: Intake; preview: PreviewPlan | undefined },
): TicketsApi["backtestCsv"] {
  const log = ctx.logger.child({ component: "tickets" });
  return async function backtestCsv(source, options = {}): Promise<CsvBacktestResult> {
    const limit = Math.min(maxRows, Math.max(1, options.maxRows ?? defaultRows));
    const rowResults: CsvBacktestRow[] = [];
    let rows = 0;
    await readTicketCsv(
      source,
      { defaultSource: options.source ?? "csv", severity: normalizeSeverity },
      async (verdict) => {
        rows++;
        if (rowResults.length >= limit) return;
        if (!verdict.ok) {
          rowResults.push({
            row: verdict.row,
            line: verdict.line,
            status: "rejected",
            title: null,
            decision: null,
            reason: verdict.reason,
            runbook: null,
            steps: [],
          });
          return;
        }
        const {
          ticket: subject,
          fingerprint,
          analysis,
        } = await deps.analyzer.analyze(deps.intake.subjectOf(verdict.input));
        const now = ctx.nowIso();
        // The ticket as it would have been stored (no id: id 0 is never a stored ticket's).
        const ticket: Ticket = {
          id: 0,
          version: 0,
          ...deps.intake.docOf(subject, fingerprint, analysis, undefined, now, false, null),
        };
        const { decision } = analysis;
        const base = {
          row: verdict.row,
          line: verdict.line,
          title: ticket.title,
          decision: decision.action,
          reason: decision.reason,
        };
        if (decision.runbookId === undefined || !deps.preview) {
          rowResults.push({ ...base, status: "unmatched", runbook: null, steps: [] });
          return;
        }
        try {
          const { runbook, plan } = await deps.preview(ticket, decision.runbookId);
          rowResults.push({
            ...base,
            status: "planned",
            runbook,
            steps: plan.map((p) => ({
              phase: p.phase,
              name: p.name,
              command: p.command,
              rendered: p.rendered,
              language: p.language,
              requiresApproval: p.requiresApproval,
              approvalsRequired: p.approvalsRequired,
              severity: p.severity,
              connection: p.connection?.name ?? null,
              error: p.error,
            })),
          });
        } catch (err) {
          if (!isRunwardenError(err)) throw err;
          rowResults.push({
            ...base,
            status: "unmatched",
            reason: `${err.code}: ${err.message}`,
            runbook: null,
            steps: [],
          });
        }
      },
    );
    log.info({ rows, planned: rowResults.length }, "csv backtest finished");
    return { rows, rowResults, truncated: rows > rowResults.length };
  };
}
