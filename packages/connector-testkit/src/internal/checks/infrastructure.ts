/** Infrastructure: open/exec abort, live runs, stream-output, timeout, describe, error and auth codes. */
import {
  type ExecRequest,
  type InfrastructureConnector,
  isRunwardenError,
  type MonitoringWrite,
  type ResolvedConnection,
  type Ticket,
  type TicketingWrite,
} from "@runwarden/core";
import { settleWithin } from "../capture.js";
import type { Harness } from "../harness.js";
import { violation } from "../violation.js";
import { caught, describeError, expectConnectorCode } from "./shared.js";

export function execRequest(base: Partial<ExecRequest> | undefined, signal: AbortSignal): ExecRequest {
  return { command: "true", language: "sh", readOnly: false, ...base, signal };
}

function infra(h: Harness): InfrastructureConnector {
  return h.instance as InfrastructureConnector;
}

/** contract/describe-line: describe() gives one non-empty line for each connection. */
export function checkDescribe(
  h: Harness,
  request: Partial<ExecRequest> | undefined,
  connections: ResolvedConnection[],
): void {
  const describeFn = infra(h).describe;
  if (typeof describeFn !== "function") violation("contract/describe-line", "the instance has no describe()");
  for (const connection of connections) {
    const line = describeFn.call(infra(h), execRequest(request, new AbortController().signal), connection);
    if (typeof line !== "string" || line.length === 0)
      violation("contract/describe-line", "describe() returned an empty or non-string description");
    h.texts.push(line);
    if (/[\r\n]/.test(line))
      violation("contract/describe-line", `describe() returned more than one line: ${JSON.stringify(line)}`);
  }
}

/**
 * contract/describe-line for ticketing and monitoring: describe() gives one non-empty line for
 * each write of the kind (create, update, comment; acknowledge, resolve) on the sample ticket.
 */
export function checkWriteDescribe(h: Harness, ticket: Ticket): void {
  const instance = h.instance as { describe?: (write: TicketingWrite | MonitoringWrite) => unknown };
  if (typeof instance.describe !== "function")
    violation("contract/describe-line", "the instance has no describe()");
  const ref = { externalId: ticket.externalId ?? "contract-1" };
  const writes: (TicketingWrite | MonitoringWrite)[] =
    h.definition.kind === "ticketing"
      ? [
          { operation: "create", ticket },
          { operation: "update", ref, change: { status: "resolved" } },
          { operation: "comment", ref, text: "contract note" },
        ]
      : [
          { operation: "acknowledge", ticket },
          { operation: "resolve", ticket },
          ...(typeof (instance as { note?: unknown }).note === "function"
            ? [{ operation: "note" as const, ticket, text: "contract note" }]
            : []),
        ];
  for (const write of writes) {
    const line = instance.describe.call(instance, write);
    if (typeof line !== "string" || line.trim().length === 0)
      violation("contract/describe-line", `describe() gave no line for ${write.operation}`);
    h.texts.push(line);
    if (/[\r\n]/.test(line))
      violation(
        "contract/describe-line",
        `describe() gave more than one line for ${write.operation}: ${JSON.stringify(line)}`,
      );
  }
}

/** contract/abort-open: open() rejects promptly when its signal is already aborted. */
export async function checkOpenAborted(
  h: Harness,
  target: ResolvedConnection,
  promptMs: number,
): Promise<void> {
  const outcome = await settleWithin(
    Promise.resolve().then(() => infra(h).open(target, { signal: AbortSignal.abort() })),
    promptMs,
  );
  if (outcome.state === "pending")
    violation("contract/abort-open", `open() is still pending ${promptMs} ms after an aborted signal`);
  if (outcome.state === "resolved") {
    await (outcome.value as { release?: () => Promise<void> }).release?.();
    violation("contract/abort-open", "open() resolved although its signal was already aborted");
  }
  h.errors.push(outcome.error);
  if (!isRunwardenError(outcome.error))
    violation(
      "contract/abort-open",
      `open() rejected an aborted call with ${describeError(outcome.error)}, not a RunwardenError`,
    );
}

/**
 * contract/abort-exec: exec() rejects promptly with a RunwardenError when its signal is already
 * aborted, and (with `slow`) when it aborts mid-call.
 */
export async function checkExecAbort(
  h: Harness,
  live: ResolvedConnection,
  options: { request?: Partial<ExecRequest>; slow?: Partial<ExecRequest>; promptMs: number },
): Promise<void> {
  await withHandle(h, live, async (handle) => {
    const already = await settleWithin(
      Promise.resolve().then(() => handle.exec(execRequest(options.request, AbortSignal.abort()))),
      options.promptMs,
    );
    expectAbortRejection(h, "exec() with an aborted signal", already, options.promptMs);
    if (!options.slow) return;
    const controller = new AbortController();
    const running = Promise.resolve().then(() => handle.exec(execRequest(options.slow, controller.signal)));
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    const midway = await settleWithin(running, options.promptMs);
    expectAbortRejection(h, "exec() aborted mid-call", midway, options.promptMs);
  });
}

function expectAbortRejection(
  h: Harness,
  label: string,
  outcome: Awaited<ReturnType<typeof settleWithin>>,
  promptMs: number,
): void {
  if (outcome.state === "pending")
    violation("contract/abort-exec", `${label} is still pending after ${promptMs} ms`);
  if (outcome.state === "resolved")
    violation("contract/abort-exec", `${label} resolved instead of rejecting`);
  h.errors.push(outcome.error);
  if (!isRunwardenError(outcome.error))
    violation(
      "contract/abort-exec",
      `${label} rejected with ${describeError(outcome.error)}, not a RunwardenError`,
    );
}

/** contract/exec-result: the sample request runs on the live connection and gives a well-formed result. */
export async function checkExecRuns(
  h: Harness,
  live: ResolvedConnection,
  request: Partial<ExecRequest> | undefined,
): Promise<void> {
  await withHandle(h, live, async (handle) => {
    const result = await handle.exec(execRequest(request, AbortSignal.timeout(10_000)));
    if (typeof result.stdout !== "string" || typeof result.stderr !== "string")
      violation("contract/exec-result", "exec() returned no stdout/stderr strings");
    if (!(result.exitCode === null || Number.isInteger(result.exitCode)))
      violation("contract/exec-result", `exec() returned exitCode ${String(result.exitCode)}`);
  });
}

/** contract/stream-output: onOutput chunks add up to the result's output. */
export async function checkStreamOutput(
  h: Harness,
  live: ResolvedConnection,
  request: Partial<ExecRequest> | undefined,
): Promise<void> {
  await withHandle(h, live, async (handle) => {
    const streamed = { stdout: "", stderr: "" };
    const result = await handle.exec({
      ...execRequest(request, AbortSignal.timeout(10_000)),
      onOutput: (stream, chunk) => {
        streamed[stream] += chunk;
      },
    });
    if (result.stdout.length === 0 && result.stderr.length === 0)
      violation("contract/stream-output", "the sample request printed nothing: give one that does");
    if (streamed.stdout !== result.stdout || streamed.stderr !== result.stderr)
      violation("contract/stream-output", "the chunks given to onOutput do not add up to stdout/stderr");
  });
}

/** contract/timeout: a slow request with a short timeoutMs ends promptly, timed out. */
export async function checkTimeout(
  h: Harness,
  live: ResolvedConnection,
  slow: Partial<ExecRequest>,
  promptMs: number,
): Promise<void> {
  await withHandle(h, live, async (handle) => {
    const outcome = await settleWithin(
      Promise.resolve().then(() =>
        handle.exec({ ...execRequest(slow, AbortSignal.timeout(30_000)), timeoutMs: 200 }),
      ),
      200 + promptMs,
    );
    if (outcome.state === "pending")
      violation("contract/timeout", `timeoutMs 200 did not end the request in ${200 + promptMs} ms`);
    if (outcome.state === "rejected") {
      h.errors.push(outcome.error);
      if (isRunwardenError(outcome.error) && outcome.error.code === "RW_ERR_CONNECTOR_TIMEOUT") return;
      violation("contract/timeout", `a timed-out request rejected with ${describeError(outcome.error)}`);
    }
    if ((outcome.value as { timedOut?: boolean }).timedOut !== true)
      violation("contract/timeout", "a request ended by timeoutMs did not say timedOut: true");
  });
}

/** Opens `target`, runs `request` once and releases; the error it failed with, if any. */
function failureOf(
  h: Harness,
  target: ResolvedConnection,
  request: Partial<ExecRequest> | undefined,
): Promise<unknown> {
  return caught(async () => {
    const handle = await infra(h).open(target, { signal: AbortSignal.timeout(10_000) });
    try {
      await handle.exec(execRequest(request, AbortSignal.timeout(10_000)));
    } finally {
      await handle.release();
    }
  });
}

/** contract/error-code: an unreachable target fails open()/exec() with a connector code. */
export async function checkUnreachable(
  h: Harness,
  target: ResolvedConnection,
  request: Partial<ExecRequest> | undefined,
): Promise<void> {
  const error = await failureOf(h, target, request);
  if (error === undefined) violation("contract/error-code", "an unreachable target did not fail");
  h.errors.push(error);
  expectConnectorCode("contract/error-code", "an unreachable target", error);
}

/** contract/auth-code: a refused credential fails with RW_ERR_CONNECTOR_AUTH. */
export async function checkRejectedCredential(
  h: Harness,
  target: ResolvedConnection,
  request: Partial<ExecRequest> | undefined,
): Promise<void> {
  const error = await failureOf(h, target, request);
  if (error === undefined) violation("contract/auth-code", "a refused credential did not fail");
  h.errors.push(error);
  if (!isRunwardenError(error) || error.code !== "RW_ERR_CONNECTOR_AUTH")
    violation(
      "contract/auth-code",
      `a refused credential failed with ${describeError(error)}, not RW_ERR_CONNECTOR_AUTH`,
    );
}

async function withHandle(
  h: Harness,
  live: ResolvedConnection,
  body: (handle: Awaited<ReturnType<InfrastructureConnector["open"]>>) => Promise<void>,
): Promise<void> {
  const handle = await infra(h).open(live, { signal: AbortSignal.timeout(10_000) });
  try {
    await body(handle);
  } finally {
    await handle.release();
  }
}
