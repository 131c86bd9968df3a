/**
 * Typed EC2 instance actions: reboot, stop and start (each optionally waiting for the state with
 * the SDK's waiters), and describe-status for checks (state and status checks per instance).
 */
import {
  DescribeInstanceStatusCommand,
  RebootInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
} from "@aws-sdk/client-ec2";
import type { ExecResult } from "@runwarden/core";
import type { AwsClients } from "./client.js";
import { abortError, awsError } from "./errors.js";
import type { AwsStep } from "./step.js";

export interface Ec2Options {
  instances: string[];
  signal: AbortSignal;
  requestTimeoutMs: number;
  waitTimeoutMs: number;
  pollIntervalMs: number;
}

function ok(stdout: string): ExecResult {
  return { exitCode: 0, exitSignal: null, stdout, stderr: "" };
}

/** Runs an EC2 action step. */
export async function runEc2Step(
  clients: AwsClients,
  step: Exclude<AwsStep, { action: "run-command" | "instance-refresh" }>,
  o: Ec2Options,
): Promise<ExecResult> {
  const abortSignal = AbortSignal.any([o.signal, AbortSignal.timeout(o.requestTimeoutMs)]);
  const ids = o.instances;
  const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if (o.signal.aborted) throw abortError(o.signal.reason);
      throw awsError(error, what);
    }
  };
  switch (step.action) {
    case "reboot": {
      await call("reboot the instances (EC2 RebootInstances)", () =>
        clients.ec2.send(new RebootInstancesCommand({ InstanceIds: ids }), { abortSignal }),
      );
      return ok(`reboot requested for ${ids.join(", ")}\n`);
    }
    case "stop":
    case "start": {
      const changes =
        step.action === "stop"
          ? ((
              await call("stop the instances (EC2 StopInstances)", () =>
                clients.ec2.send(new StopInstancesCommand({ InstanceIds: ids, Force: step.force }), {
                  abortSignal,
                }),
              )
            ).StoppingInstances ?? [])
          : ((
              await call("start the instances (EC2 StartInstances)", () =>
                clients.ec2.send(new StartInstancesCommand({ InstanceIds: ids }), { abortSignal }),
              )
            ).StartingInstances ?? []);
      let stdout = changes
        .map((c) => `${c.InstanceId}: ${c.PreviousState?.Name ?? "?"} -> ${c.CurrentState?.Name ?? "?"}\n`)
        .join("");
      if (!step.wait) return ok(stdout);
      const timeoutMs = step.timeout ?? o.waitTimeoutMs;
      const waiter = step.action === "stop" ? waitUntilInstanceStopped : waitUntilInstanceRunning;
      const target = step.action === "stop" ? "stopped" : "running";
      const delay = Math.max(0.05, o.pollIntervalMs / 1000);
      try {
        await waiter(
          {
            client: clients.ec2,
            maxWaitTime: Math.max(1, Math.ceil(timeoutMs / 1000)),
            minDelay: delay,
            maxDelay: Math.max(delay, Math.min(15, delay * 8)),
            abortSignal: o.signal,
          },
          { InstanceIds: ids },
        );
      } catch (error) {
        if (o.signal.aborted) throw abortError(o.signal.reason);
        const state = (error as { state?: string; name?: string }).state ?? (error as { name?: string }).name;
        if (state === "TIMEOUT" || state === "TimeoutError")
          return {
            exitCode: null,
            exitSignal: null,
            stdout,
            stderr: `the instances were not ${target} within ${timeoutMs} ms\n`,
            timedOut: true,
          };
        const reason = (error as { reason?: unknown }).reason;
        if (state === "FAILURE")
          return {
            exitCode: 1,
            exitSignal: null,
            stdout,
            stderr: `waiting for ${target} failed: an instance reached a state from which it cannot become ${target}${
              reason && typeof reason === "object" && "message" in reason
                ? ` (${String((reason as Error).message)})`
                : ""
            }\n`,
          };
        throw awsError(error, `wait until the instances are ${target}`);
      }
      stdout += `${ids.join(", ")}: ${target}\n`;
      return ok(stdout);
    }
    case "describe-status": {
      const answer = await call("read the instances' status (EC2 DescribeInstanceStatus)", () =>
        clients.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: ids, IncludeAllInstances: true }), {
          abortSignal,
        }),
      );
      const byId = new Map((answer.InstanceStatuses ?? []).map((s) => [s.InstanceId, s]));
      let stdout = "";
      const problems: string[] = [];
      for (const id of ids) {
        const s = byId.get(id);
        const state = s?.InstanceState?.Name ?? "unknown";
        const system = s?.SystemStatus?.Status ?? "not-applicable";
        const instance = s?.InstanceStatus?.Status ?? "not-applicable";
        stdout += `${id} state=${state} system_status=${system} instance_status=${instance}\n`;
        if (state !== step.expect_state) problems.push(`${id} is ${state}, expected ${step.expect_state}`);
        else if (step.expect_checks_ok && (system !== "ok" || instance !== "ok"))
          problems.push(`${id} status checks: system ${system}, instance ${instance}`);
      }
      return {
        exitCode: problems.length === 0 ? 0 : 1,
        exitSignal: null,
        stdout,
        stderr: problems.map((p) => `${p}\n`).join(""),
      };
    }
  }
}
