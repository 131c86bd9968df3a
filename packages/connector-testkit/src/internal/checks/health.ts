/** contract/health-prompt and contract/health-shape. */
import {
  type HealthResult,
  type InfrastructureConnector,
  isRunwardenError,
  type ResolvedConnection,
} from "@runwarden/core";
import { settleWithin } from "../capture.js";
import type { Harness } from "../harness.js";
import { violation } from "../violation.js";
import { describeError } from "./shared.js";

type HealthCall = (signal: AbortSignal) => Promise<HealthResult>;

function healthCall(h: Harness, target: ResolvedConnection | undefined): HealthCall {
  if (h.definition.kind === "infrastructure") {
    if (!target) throw new TypeError("infrastructure health needs a target");
    return (signal) => (h.instance as InfrastructureConnector).healthCheck(target, { signal });
  }
  const check = (h.instance as { healthCheck?: (o?: { signal: AbortSignal }) => Promise<HealthResult> })
    .healthCheck;
  if (typeof check !== "function") violation("contract/capability-method", "healthCheck is not a function");
  return (signal) => check.call(h.instance, { signal });
}

async function expectUnhealthy(h: Harness, call: HealthCall, signal: AbortSignal, ms: number, label: string) {
  const outcome = await settleWithin(
    Promise.resolve().then(() => call(signal)),
    ms,
  );
  if (outcome.state === "pending")
    violation("contract/health-prompt", `healthCheck is still pending ${Math.round(outcome.ms)} ms ${label}`);
  if (outcome.state === "rejected") {
    h.errors.push(outcome.error);
    if (!isRunwardenError(outcome.error))
      violation(
        "contract/health-shape",
        `healthCheck threw ${describeError(outcome.error)} ${label}; answer { ok: false, reason }`,
      );
    return;
  }
  const health = outcome.value as HealthResult;
  h.texts.push(JSON.stringify(health));
  if (health?.ok !== false) violation("contract/health-shape", `healthCheck answered ok ${label}`);
  if (!health.reason) violation("contract/health-shape", `healthCheck gave no reason ${label}`);
  if (!(health.latencyMs >= 0)) violation("contract/health-shape", `healthCheck gave no latencyMs ${label}`);
}

/**
 * contract/health-prompt and contract/health-shape: healthCheck settles promptly, not ok, when
 * its signal is already aborted (infrastructure, whose healthCheck takes a signal).
 */
export async function checkHealthAborted(
  h: Harness,
  target: ResolvedConnection,
  promptMs: number,
): Promise<void> {
  await expectUnhealthy(h, healthCall(h, target), AbortSignal.abort(), promptMs, "after an aborted signal");
}

/**
 * contract/health-prompt and contract/health-shape: against the failing target (monitoring and
 * ticketing: the sample config's; infrastructure: the unreachable connection), healthCheck
 * settles within `timeoutMs` plus `promptMs` and answers not ok with a reason and a latency.
 */
export async function checkHealthFailing(
  h: Harness,
  target: ResolvedConnection | undefined,
  options: { promptMs: number; timeoutMs: number },
): Promise<void> {
  await expectUnhealthy(
    h,
    healthCall(h, target),
    AbortSignal.timeout(options.timeoutMs),
    options.timeoutMs + options.promptMs,
    "against the failing target",
  );
}
