/**
 * SSM Run Command: SendCommand (AWS-RunShellScript or AWS-RunPowerShellScript) to instance ids,
 * GetCommandInvocation per instance until each reaches a terminal status, CancelCommand when the
 * step times out or its signal aborts. SSM keeps the first 24,000 characters of stdout and 8,000
 * of stderr; the full output is in S3 when the connection names a bucket.
 */
import {
  CancelCommandCommand,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
} from "@aws-sdk/client-ssm";
import type { ExecResult } from "@runwarden/core";
import type { AwsClients } from "./client.js";
import { abortError, awsError } from "./errors.js";

/** SSM's documented limits on GetCommandInvocation output. */
export const SSM_STDOUT_LIMIT = 24_000;
export const SSM_STDERR_LIMIT = 8_000;

const TERMINAL = new Set(["Success", "Failed", "Cancelled", "TimedOut"]);

export interface RunCommandOptions {
  instances: readonly string[];
  commands: readonly string[];
  platform: "linux" | "windows";
  workingDirectory?: string | undefined;
  timeoutMs: number;
  pollIntervalMs: number;
  requestTimeoutMs: number;
  signal: AbortSignal;
  onOutput?: ((stream: "stdout" | "stderr", chunk: string) => void) | undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Runs the commands on the instances and waits for every invocation to end. */
export async function runCommand(clients: AwsClients, o: RunCommandOptions): Promise<ExecResult> {
  const started = Date.now();
  const deadline = started + o.timeoutMs;
  const callSignal = () => AbortSignal.any([o.signal, AbortSignal.timeout(o.requestTimeoutMs)]);
  const { output_s3_bucket, output_s3_prefix } = clients.options;
  if (o.signal.aborted) throw abortError(o.signal.reason);
  let commandId: string;
  try {
    const sent = await clients.ssm.send(
      new SendCommandCommand({
        DocumentName: o.platform === "windows" ? "AWS-RunPowerShellScript" : "AWS-RunShellScript",
        InstanceIds: [...o.instances],
        Parameters: {
          commands: [...o.commands],
          executionTimeout: [String(Math.max(1, Math.ceil(o.timeoutMs / 1000)))],
          ...(o.workingDirectory ? { workingDirectory: [o.workingDirectory] } : {}),
        },
        TimeoutSeconds: Math.max(30, Math.ceil(o.timeoutMs / 1000)),
        Comment: "Runwarden step",
        ...(output_s3_bucket ? { OutputS3BucketName: output_s3_bucket } : {}),
        ...(output_s3_prefix ? { OutputS3KeyPrefix: output_s3_prefix } : {}),
      }),
      { abortSignal: callSignal() },
    );
    if (!sent.Command?.CommandId) throw new Error("SendCommand returned no CommandId");
    commandId = sent.Command.CommandId;
  } catch (error) {
    if (o.signal.aborted) throw abortError(o.signal.reason);
    throw awsError(error, "send the command (SSM SendCommand)");
  }

  const results = new Map<string, GetCommandInvocationCommandOutput>();
  let stopped: "timeout" | "aborted" | undefined;
  while (results.size < o.instances.length) {
    for (const instance of o.instances) {
      if (results.has(instance)) continue;
      if (o.signal.aborted || Date.now() >= deadline) break;
      try {
        const invocation = await clients.ssm.send(
          new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instance }),
          { abortSignal: callSignal() },
        );
        if (invocation.Status && TERMINAL.has(invocation.Status)) results.set(instance, invocation);
      } catch (error) {
        if (o.signal.aborted) break;
        // Just after SendCommand the invocation may not exist yet: keep polling.
        if ((error as { name?: string }).name !== "InvocationDoesNotExist")
          throw awsError(error, `read the command's result on ${instance} (SSM GetCommandInvocation)`);
      }
    }
    if (results.size === o.instances.length) break;
    if (o.signal.aborted) {
      stopped = "aborted";
      break;
    }
    if (Date.now() >= deadline) {
      stopped = "timeout";
      break;
    }
    await sleep(Math.min(o.pollIntervalMs, Math.max(0, deadline - Date.now())), o.signal);
  }

  if (stopped) {
    try {
      await clients.ssm.send(
        new CancelCommandCommand({ CommandId: commandId, InstanceIds: [...o.instances] }),
        {
          abortSignal: AbortSignal.timeout(o.requestTimeoutMs),
        },
      );
    } catch {
      // Best effort: the invocation may have ended meanwhile; the result says what is known.
    }
    if (stopped === "aborted") throw abortError(o.signal.reason);
  }

  return assemble(o, commandId, results, stopped === "timeout");
}

function assemble(
  o: RunCommandOptions,
  commandId: string,
  results: Map<string, GetCommandInvocationCommandOutput>,
  timedOut: boolean,
): ExecResult {
  const many = o.instances.length > 1;
  let stdout = "";
  let stderr = "";
  let exitCode: number | null = 0;
  let anyTimedOut = timedOut;
  for (const instance of o.instances) {
    const r = results.get(instance);
    const status = r?.Status ?? "Cancelled (step timed out)";
    const code = r?.ResponseCode !== undefined && r.ResponseCode >= 0 ? r.ResponseCode : null;
    if (r?.Status === "TimedOut") anyTimedOut = true;
    if (many) stdout += `== ${instance}: ${status}${code !== null ? `, exit ${code}` : ""} ==\n`;
    const out = r?.StandardOutputContent ?? "";
    const err = r?.StandardErrorContent ?? "";
    stdout += out;
    if (many && out && !out.endsWith("\n")) stdout += "\n";
    stderr += err;
    if (out.length >= SSM_STDOUT_LIMIT || err.length >= SSM_STDERR_LIMIT) {
      stderr += `\n[runwarden] SSM keeps only the first ${SSM_STDOUT_LIMIT} characters of stdout and ${SSM_STDERR_LIMIT} of stderr: the output of ${instance} may be cut short${
        r?.StandardOutputUrl
          ? `; the full output is at ${r.StandardOutputUrl}`
          : " (set output_s3_bucket for the full output)"
      }\n`;
    }
    if (r && r.Status !== "Success" && r.Status !== "Failed")
      stderr += `[runwarden] ${instance}: ${r.Status}${r.StatusDetails && r.StatusDetails !== r.Status ? ` (${r.StatusDetails})` : ""}\n`;
    if (r?.Status === "Failed" && code === null)
      stderr += `[runwarden] ${instance}: the command did not run (${r.StatusDetails ?? "Failed"})\n`;
    // The step's exit code: 0 only when every instance succeeded; else the first failure's.
    if (exitCode === 0) {
      if (r?.Status !== "Success") exitCode = code ?? null;
      else if (code !== null && code !== 0) exitCode = code;
      if (r && r.Status === "Failed" && exitCode === 0) exitCode = 1;
    }
  }
  if (o.onOutput) {
    if (stdout) o.onOutput("stdout", stdout);
    if (stderr) o.onOutput("stderr", stderr);
  }
  return {
    exitCode: anyTimedOut ? null : exitCode,
    exitSignal: null,
    stdout,
    stderr:
      stderr +
      (anyTimedOut ? `[runwarden] SSM command ${commandId} timed out after ${o.timeoutMs} ms\n` : ""),
    ...(anyTimedOut ? { timedOut: true } : {}),
  };
}
