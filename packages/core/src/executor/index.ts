/**
 * The approval-gated executor: createExecutor builds its parts and wires them, and the package
 * takes its public types from here. In the order a session meets them: start.ts → runner.ts
 * (leases.ts, attempt.ts, session-writer.ts, approval-requests.ts, interrupt.ts, outcome.ts) →
 * decisions.ts / executions.ts / stop.ts; auto-execute.ts starts sessions on its own, and
 * timeline.ts tells their story. live.ts holds what the runner's parts share.
 */
import type { EngineContext } from "../internal/context.js";
import { ApprovalRequests } from "./approval-requests.js";
import { createAutoExecution } from "./auto-execute.js";
import { CircuitBreaker } from "./concurrency.js";
import { createApprovalsApi } from "./decisions.js";
import { createExecutionsApi } from "./executions.js";
import { Interrupts } from "./interrupt.js";
import type { ExecutorDeps } from "./live.js";
import { Outcomes } from "./outcome.js";
import { Runner } from "./runner.js";
import { SessionWriter } from "./session-writer.js";
import { createStart } from "./start.js";
import { SessionStopper } from "./stop.js";
import type { Executor } from "./types.js";

export type { BreakerState } from "./concurrency.js";
export type { ExecutorDeps, RunbooksPort, TicketsPort } from "./live.js";
export { type LocalConnectorConfig, localConnector } from "./local.js";
export { redactedMarker } from "./redaction.js";
export { shellQuote } from "./templates.js";
export type {
  ApprovalsApi,
  DecisionOptions,
  ExecutionDetail,
  ExecutionsApi,
  Executor,
  ListApprovalsQuery,
  ListExecutionsQuery,
  PlanEntry,
  StartOptions,
  TimelineEntry,
} from "./types.js";

/** Creates the executor; engine.ts links its `autoExecute` and `ticketResolved` to intake. */
export function createExecutor(ctx: EngineContext, deps: ExecutorDeps): Executor {
  const log = ctx.logger.child({ component: "executor" });
  const breaker = new CircuitBreaker(
    ctx.policy.circuitBreakerThreshold,
    ctx.policy.circuitBreakerCooldownMs,
    ctx.clock,
  );
  const writer = new SessionWriter(ctx, log);
  const outcomes = new Outcomes(ctx, { log, deps, breaker, writer });
  const requests: ApprovalRequests = new ApprovalRequests(ctx, {
    log,
    deps,
    writer,
    stopSession: (sessionId, stop) => stopper.stopSession(sessionId, stop),
  });
  const stopper: SessionStopper = new SessionStopper(ctx, {
    requests,
    outcomes,
    isDriving: (sessionId) => runner.isDrivingLocally(sessionId),
  });
  const interrupts = new Interrupts(ctx, { log, deps, writer, outcomes });
  const runner = new Runner(ctx, deps, { log, writer, outcomes, requests, interrupts });
  const { leases } = runner;
  const start = createStart(ctx, { deps, log, runner, outcomes, leases });
  const { executions, cancelSession } = createExecutionsApi(ctx, {
    deps,
    log,
    runner,
    outcomes,
    stopper,
    breaker,
    start,
  });
  const { approvals, applyDecided } = createApprovalsApi(ctx, { deps, log, runner, requests, stopper });
  const auto = createAutoExecution(ctx, { log, runner, outcomes, breaker, start, cancelSession });
  return {
    executions,
    approvals,
    autoExecute: auto.autoExecute,
    ticketResolved: auto.ticketResolved,
    preview: start.preview,
    start: async () => {
      auto.reopen();
      await runner.start();
      await applyDecided();
      await auto.resume();
    },
    close: () => {
      auto.close();
      return runner.close();
    },
  };
}
