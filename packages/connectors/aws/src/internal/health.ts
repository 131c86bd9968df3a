/**
 * The health check: STS GetCallerIdentity proves the credential; EC2 dry runs (`DryRun: true`
 * answers DryRunOperation when the call is allowed, UnauthorizedOperation when not) prove each
 * EC2 permission the connection's actions need; SSM has no dry run, so for `run-command` it asks
 * DescribeInstanceInformation whether each target's SSM agent is registered and online (which
 * also proves `ssm:DescribeInstanceInformation`, not `ssm:SendCommand`). Auto Scaling has no dry
 * run either: `instance-refresh` is listed as not checked.
 */
import {
  DescribeInstanceStatusCommand,
  RebootInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
} from "@aws-sdk/client-ec2";
import { DescribeInstanceInformationCommand } from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { awsActions } from "../config.js";
import type { AwsClients } from "./client.js";
import { awsError } from "./errors.js";
import { resolveTargets } from "./targets.js";

export interface AccessReport {
  /** The caller's ARN, from GetCallerIdentity. */
  arn: string;
  /** What the credential may not do, or what is not ready (an agent offline). */
  denied: string[];
  /** What could not be checked, and why. */
  unchecked: string[];
}

/** Runs the checks; throws a connector error when AWS cannot be reached or the credential is refused. */
export async function checkAccess(
  clients: AwsClients,
  signal: AbortSignal,
  requestTimeoutMs: number,
): Promise<AccessReport> {
  const callSignal = () => AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]);
  let arn: string;
  try {
    const identity = await clients.sts.send(new GetCallerIdentityCommand({}), { abortSignal: callSignal() });
    arn = identity.Arn ?? "unknown";
  } catch (error) {
    throw awsError(error, "prove the credential (STS GetCallerIdentity)");
  }
  const actions = new Set(clients.options.actions ?? awsActions);
  const denied: string[] = [];
  const unchecked: string[] = [];
  const ids = clients.options.instance_ids;

  async function dryRun(permission: string, send: () => Promise<unknown>): Promise<void> {
    try {
      await send();
      // A dry run that succeeds is not documented; treat it as allowed.
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "DryRunOperation") return;
      if (name === "UnauthorizedOperation" || name === "AccessDenied") {
        denied.push(permission);
        return;
      }
      throw awsError(error, `dry-run ${permission}`);
    }
  }

  if (actions.has("describe-status"))
    await dryRun("ec2:DescribeInstanceStatus", () =>
      clients.ec2.send(
        new DescribeInstanceStatusCommand({ DryRun: true, ...(ids ? { InstanceIds: ids } : {}) }),
        { abortSignal: callSignal() },
      ),
    );
  const instanceActions = [
    [
      "reboot",
      "ec2:RebootInstances",
      (InstanceIds: string[]) => new RebootInstancesCommand({ DryRun: true, InstanceIds }),
    ],
    [
      "stop",
      "ec2:StopInstances",
      (InstanceIds: string[]) => new StopInstancesCommand({ DryRun: true, InstanceIds }),
    ],
    [
      "start",
      "ec2:StartInstances",
      (InstanceIds: string[]) => new StartInstancesCommand({ DryRun: true, InstanceIds }),
    ],
  ] as const;
  for (const [action, permission, command] of instanceActions) {
    if (!actions.has(action)) continue;
    if (!ids) {
      unchecked.push(`${permission} (the connection names no instance_ids to dry-run it on)`);
      continue;
    }
    await dryRun(permission, () => clients.ec2.send(command(ids), { abortSignal: callSignal() }));
  }
  if (actions.has("instance-refresh"))
    unchecked.push("autoscaling:StartInstanceRefresh (Auto Scaling has no dry run)");
  if (actions.has("run-command")) {
    unchecked.push("ssm:SendCommand (SSM has no dry run)");
    let targets: string[] | undefined;
    if (ids || clients.options.tags) targets = await resolveTargets(clients, undefined, callSignal());
    else unchecked.push("SSM agents (the connection names no instances; steps name their own)");
    if (targets) {
      try {
        const online = new Map<string, string>();
        let token: string | undefined;
        do {
          const page = await clients.ssm.send(
            new DescribeInstanceInformationCommand({
              Filters: [{ Key: "InstanceIds", Values: targets }],
              ...(token ? { NextToken: token } : {}),
            }),
            { abortSignal: callSignal() },
          );
          for (const info of page.InstanceInformationList ?? [])
            if (info.InstanceId) online.set(info.InstanceId, info.PingStatus ?? "Unknown");
          token = page.NextToken;
        } while (token);
        for (const id of targets) {
          const ping = online.get(id);
          if (ping !== "Online")
            denied.push(
              `run commands on ${id} (its SSM agent is ${ping ?? "not registered with Systems Manager"})`,
            );
        }
      } catch (error) {
        const e = awsError(error, "read the SSM agents' status (SSM DescribeInstanceInformation)");
        if (e.code === "RW_ERR_CONNECTOR_AUTH") denied.push("ssm:DescribeInstanceInformation");
        else throw e;
      }
    }
  }
  return { arn, denied, unchecked };
}
