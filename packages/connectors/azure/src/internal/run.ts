/**
 * VM Run Command (the action API, `POST …/virtualMachines/{vm}/runCommand`) and the VM actions,
 * through @azure/arm-compute's long-running-operation pollers.
 */
import type { ExecRequest, ExecResult } from "@runwarden/core";
import type { AzureConfig } from "../config.js";
import { type Azure, armError, type Target } from "./client.js";
import type { AzureStep } from "./step.js";

interface Status {
  code?: string;
  level?: string;
  displayStatus?: string;
  message?: string;
}

/**
 * Splits Run Command's result into stdout, stderr and an exit code. Linux (RunShellScript): one
 * status whose message is `Enable succeeded: \n[stdout]\n…\n[stderr]\n…`; a failing script gives
 * `ProvisioningState/failed/…` and "exit status=N" in the message (guess from the extension's
 * output; Azure documents no exit code for the action API). Windows (RunPowerShellScript): a
 * `ComponentStatus/StdOut/succeeded` and a `ComponentStatus/StdErr/succeeded` status.
 */
export function parseRunCommandResult(
  statuses: readonly Status[],
): Pick<ExecResult, "exitCode" | "stdout" | "stderr"> {
  const out = statuses.find((s) => s.code?.startsWith("ComponentStatus/StdOut/"));
  const err = statuses.find((s) => s.code?.startsWith("ComponentStatus/StdErr/"));
  if (out || err) {
    const failed = [out, err].some((s) => s?.code?.endsWith("/failed"));
    return { exitCode: failed ? 1 : 0, stdout: out?.message ?? "", stderr: err?.message ?? "" };
  }
  const status = statuses.find((s) => s.code?.startsWith("ProvisioningState/")) ?? statuses[0];
  const message = status?.message ?? "";
  const o = message.indexOf("[stdout]\n");
  const e = message.indexOf("[stderr]\n");
  const stdout = o >= 0 ? message.slice(o + 9, e > o ? e : undefined).replace(/\n$/, "") : "";
  const stderr = e >= 0 ? message.slice(e + 9) : o < 0 ? message : "";
  const succeeded = status?.code === "ProvisioningState/succeeded";
  const exit = /exit status=(\d+)/.exec(message);
  return { exitCode: succeeded ? 0 : exit ? Number(exit[1]) : 1, stdout, stderr };
}

function abortable(request: ExecRequest, config: AzureConfig) {
  const timeoutMs = Math.min(request.timeoutMs ?? config.operationTimeoutMs, config.operationTimeoutMs);
  const timeout = AbortSignal.timeout(timeoutMs);
  return { signal: AbortSignal.any([request.signal, timeout]), timeout, timeoutMs };
}

/** Runs a script with Run Command (`RunShellScript` or `RunPowerShellScript`) and waits for it. */
export async function runScript(
  azure: Azure,
  request: ExecRequest,
  commandId: "RunShellScript" | "RunPowerShellScript",
  config: AzureConfig,
): Promise<ExecResult> {
  const { target, compute } = azure;
  const { signal, timeout, timeoutMs } = abortable(request, config);
  try {
    const result = await compute.virtualMachines.runCommand(
      target.resourceGroup,
      target.vm,
      { commandId, script: request.command.split("\n") },
      { updateIntervalInMs: config.pollIntervalMs, abortSignal: signal },
    );
    const parsed = parseRunCommandResult(result.value ?? []);
    if (parsed.stdout) request.onOutput?.("stdout", parsed.stdout);
    if (parsed.stderr) request.onOutput?.("stderr", parsed.stderr);
    return { ...parsed, exitSignal: null };
  } catch (error) {
    if (timeout.aborted && !request.signal.aborted) {
      // Azure has no cancel for the action Run Command: the script may still finish on the VM.
      return {
        exitCode: null,
        exitSignal: null,
        stdout: "",
        stderr: `Run Command did not finish within ${timeoutMs} ms (it cannot be cancelled; it may still run)\n`,
        timedOut: true,
      };
    }
    throw armError(error, `Run Command on ${target.vm}`);
  }
}

const line = (value: unknown) => `${JSON.stringify(value)}\n`;

/** Runs an azure step. */
export async function runAction(
  azure: Azure,
  step: AzureStep,
  config: AzureConfig,
  request: ExecRequest,
): Promise<ExecResult> {
  const target: Target = { ...azure.target, vm: step.vm ?? azure.target.vm };
  const { compute } = azure;
  if (step.action === "instance-view") {
    let view: Awaited<ReturnType<typeof compute.virtualMachines.instanceView>>;
    try {
      view = await compute.virtualMachines.instanceView(target.resourceGroup, target.vm, {
        abortSignal: request.signal,
      });
    } catch (error) {
      throw armError(error, `instance view of ${target.vm}`);
    }
    const codes = (view.statuses ?? []).map((s) => s.code ?? "");
    const power = codes.find((c) => c.startsWith("PowerState/"))?.slice("PowerState/".length) ?? "unknown";
    const provisioning =
      codes.find((c) => c.startsWith("ProvisioningState/"))?.slice("ProvisioningState/".length) ?? "unknown";
    const stdout = line({ vm: target.vm, powerState: power, provisioningState: provisioning });
    request.onOutput?.("stdout", stdout);
    const ok = step.expect_power_state === undefined || power === step.expect_power_state;
    return {
      exitCode: ok ? 0 : 1,
      exitSignal: null,
      stdout,
      stderr: ok ? "" : `VM ${target.vm} is ${power}, expected ${step.expect_power_state}\n`,
    };
  }
  const { signal, timeout, timeoutMs } = abortable(request, config);
  const options = { updateIntervalInMs: config.pollIntervalMs, abortSignal: signal };
  try {
    const poller =
      step.action === "restart"
        ? compute.virtualMachines.restart(target.resourceGroup, target.vm, options)
        : step.action === "deallocate"
          ? compute.virtualMachines.deallocate(target.resourceGroup, target.vm, options)
          : compute.virtualMachines.start(target.resourceGroup, target.vm, options);
    await poller;
  } catch (error) {
    if (timeout.aborted && !request.signal.aborted) {
      return {
        exitCode: null,
        exitSignal: null,
        stdout: "",
        stderr: `${step.action} not done after ${timeoutMs} ms\n`,
        timedOut: true,
      };
    }
    const mapped = armError(error, `${step.action} of ${target.vm}`) as {
      code?: string;
      details?: { status?: number | null };
    };
    // An operation that ran and failed (no HTTP status) is a failed step, not a transport error.
    if (
      mapped.code === "RW_ERR_CONNECTOR_UNREACHABLE" &&
      (error as { statusCode?: number }).statusCode === undefined &&
      (error as Error).message?.includes("failed")
    ) {
      return {
        exitCode: 1,
        exitSignal: null,
        stdout: "",
        stderr: `${(error as Error).message.split("\n")[0]}\n`,
      };
    }
    throw mapped;
  }
  const stdout = line({ vm: target.vm, action: step.action, status: "Succeeded" });
  request.onOutput?.("stdout", stdout);
  return { exitCode: 0, exitSignal: null, stdout, stderr: "" };
}
