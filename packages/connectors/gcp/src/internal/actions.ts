/** Running a gcp step: reset/stop/start with the zone operation awaited, or the instance status. */
import { type ExecRequest, type ExecResult, rwError } from "@runwarden/core";
import type { GcpConfig } from "../config.js";
import type { GcpApi, Operation, Where } from "./api.js";
import type { GcpStep } from "./step.js";

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(
        rwError("RW_ERR_CONNECTOR_TIMEOUT", "the GCP operation wait was aborted", {
          details: { reason: "aborted" },
        }),
      );
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

const line = (value: unknown) => `${JSON.stringify(value)}\n`;

/** Runs one parsed gcp step against `where`. */
export async function runAction(
  api: GcpApi,
  where: Where,
  step: GcpStep,
  config: GcpConfig,
  request: ExecRequest,
): Promise<ExecResult> {
  const { signal } = request;
  if (step.action === "status") {
    const instance = await api.getInstance(where, signal);
    const stdout = line({
      instance: instance.name,
      status: instance.status,
      zone: where.zone,
      project: where.project,
    });
    request.onOutput?.("stdout", stdout);
    const ok = step.expect === undefined || instance.status === step.expect;
    return {
      exitCode: ok ? 0 : 1,
      exitSignal: null,
      stdout,
      stderr: ok ? "" : `instance ${where.instance} is ${instance.status}, expected ${step.expect}\n`,
    };
  }
  let operation: Operation = await api.instanceAction(where, step.action, signal);
  const started = line({
    instance: where.instance,
    action: step.action,
    operation: operation.name,
    status: operation.status,
  });
  request.onOutput?.("stdout", started);
  let stdout = started;
  if (!step.wait) return { exitCode: 0, exitSignal: null, stdout, stderr: "" };
  const timeoutMs = Math.min(request.timeoutMs ?? config.operationTimeoutMs, config.operationTimeoutMs);
  const deadline = Date.now() + timeoutMs;
  while (operation.status !== "DONE") {
    if (Date.now() >= deadline) {
      return {
        exitCode: null,
        exitSignal: null,
        stdout,
        stderr: `operation ${operation.name} not done after ${timeoutMs} ms\n`,
        timedOut: true,
      };
    }
    const before = operation.status;
    operation = await api.waitOperation(where, operation.name, signal);
    if (operation.status !== "DONE" && operation.status === before)
      await delay(config.pollIntervalMs, signal);
  }
  const errors = operation.error?.errors ?? [];
  const done = line({
    instance: where.instance,
    action: step.action,
    operation: operation.name,
    status: "DONE",
    errors: errors.length,
  });
  request.onOutput?.("stdout", done);
  stdout += done;
  if (errors.length > 0) {
    const stderr = errors.map((e) => `${e.code ?? "ERROR"}: ${e.message ?? ""}`.slice(0, 500)).join("\n");
    return { exitCode: 1, exitSignal: null, stdout, stderr: `${stderr}\n` };
  }
  return { exitCode: 0, exitSignal: null, stdout, stderr: "" };
}
