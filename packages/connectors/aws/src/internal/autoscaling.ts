/**
 * Auto Scaling instance refresh as a typed step: `StartInstanceRefresh` on one group (with the
 * step's MinHealthyPercentage / InstanceWarmup), then `DescribeInstanceRefreshes` every poll
 * interval until the refresh ends. A refresh still running at the step's timeout is cancelled
 * (`CancelInstanceRefresh`) and the step answers timedOut; an aborted step cancels it too.
 */
import {
  CancelInstanceRefreshCommand,
  DescribeInstanceRefreshesCommand,
  type InstanceRefresh,
  StartInstanceRefreshCommand,
} from "@aws-sdk/client-auto-scaling";
import type { ExecResult } from "@runwarden/core";
import type { AwsClients } from "./client.js";
import { abortError, awsError } from "./errors.js";
import type { AwsStep } from "./step.js";

/** Statuses after which a refresh does nothing more (the API reference's InstanceRefreshStatus). */
const TERMINAL = new Set(["Successful", "Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed"]);

export interface RefreshOptions {
  signal: AbortSignal;
  requestTimeoutMs: number;
  waitTimeoutMs: number;
  pollIntervalMs: number;
}

const line = (r: InstanceRefresh | undefined, group: string, id: string) =>
  `${group} refresh ${id}: ${r?.Status ?? "unknown"}${r?.PercentageComplete === undefined ? "" : ` ${r.PercentageComplete}%`}${r?.StatusReason ? ` (${r.StatusReason})` : ""}\n`;

/** Runs an instance-refresh step. */
export async function runInstanceRefresh(
  clients: AwsClients,
  step: Extract<AwsStep, { action: "instance-refresh" }>,
  o: RefreshOptions,
): Promise<ExecResult> {
  const group = step.auto_scaling_group;
  const call = async <T>(what: string, run: (abortSignal: AbortSignal) => Promise<T>): Promise<T> => {
    try {
      return await run(AbortSignal.any([o.signal, AbortSignal.timeout(o.requestTimeoutMs)]));
    } catch (error) {
      if (o.signal.aborted) throw abortError(o.signal.reason);
      throw awsError(error, what);
    }
  };
  const preferences = {
    ...(step.min_healthy_percentage === undefined
      ? {}
      : { MinHealthyPercentage: step.min_healthy_percentage }),
    ...(step.instance_warmup === undefined ? {} : { InstanceWarmup: step.instance_warmup }),
  };
  const started = await call(
    "start the instance refresh (Auto Scaling StartInstanceRefresh)",
    (abortSignal) =>
      clients.autoscaling.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: group,
          ...(Object.keys(preferences).length > 0 ? { Preferences: preferences } : {}),
        }),
        { abortSignal },
      ),
  );
  const id = started.InstanceRefreshId ?? "";
  if (!step.wait)
    return { exitCode: 0, exitSignal: null, stdout: `${group} refresh ${id}: started\n`, stderr: "" };
  const cancel = () =>
    clients.autoscaling
      .send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: group }), {
        abortSignal: AbortSignal.timeout(o.requestTimeoutMs),
      })
      .catch(() => undefined);
  const deadline = Date.now() + o.waitTimeoutMs;
  for (;;) {
    const page = await call(
      "read the instance refresh (Auto Scaling DescribeInstanceRefreshes)",
      (abortSignal) =>
        clients.autoscaling.send(
          new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: group, InstanceRefreshIds: [id] }),
          { abortSignal },
        ),
    ).catch(async (error) => {
      if (o.signal.aborted) await cancel();
      throw error;
    });
    const refresh = page.InstanceRefreshes?.find((r) => r.InstanceRefreshId === id);
    if (refresh?.Status && TERMINAL.has(refresh.Status)) {
      const ok = refresh.Status === "Successful";
      return {
        exitCode: ok ? 0 : 1,
        exitSignal: null,
        stdout: line(refresh, group, id),
        stderr: ok ? "" : `instance refresh ended ${refresh.Status}\n`,
      };
    }
    if (Date.now() >= deadline) {
      await cancel();
      return {
        exitCode: null,
        exitSignal: null,
        stdout: line(refresh, group, id),
        stderr: `instance refresh not done after ${o.waitTimeoutMs} ms: cancelled (CancelInstanceRefresh)\n`,
        timedOut: true,
      };
    }
    const aborted = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), o.pollIntervalMs);
      o.signal.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          resolve(true);
        },
        { once: true },
      );
    });
    if (aborted) {
      await cancel();
      throw abortError(o.signal.reason);
    }
  }
}
