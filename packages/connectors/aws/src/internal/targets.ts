/** Which instances a step acts on: its own ids, else the connection's ids, else its tags. */
import { DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import { rwError } from "@runwarden/core";
import type { AwsClients } from "./client.js";
import { awsError } from "./errors.js";

/** How the connection names its targets, for descriptions. */
export function connectionTargets(clients: Pick<AwsClients, "options">): string {
  const { instance_ids, tags } = clients.options;
  if (instance_ids) return instance_ids.join(", ");
  if (tags)
    return `the running instances tagged ${Object.entries(tags)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}`;
  return "(no instances: the connection names none)";
}

/** Resolves the instance ids; tags are looked up with DescribeInstances (running instances only). */
export async function resolveTargets(
  clients: AwsClients,
  stepInstances: readonly string[] | undefined,
  signal: AbortSignal,
): Promise<string[]> {
  if (stepInstances && stepInstances.length > 0) return [...stepInstances];
  const { instance_ids, tags } = clients.options;
  if (instance_ids) return [...instance_ids];
  if (!tags)
    throw rwError(
      "RW_ERR_CONNECTOR_REJECTED",
      "the step names no instance and the connection has neither instance_ids nor tags: add instance_id to the step or instance_ids/tags to the connection's options",
      { details: { reason: "targets" } },
    );
  const ids: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await clients.ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            ...Object.entries(tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] })),
            { Name: "instance-state-name", Values: ["running"] },
          ],
          ...(token ? { NextToken: token } : {}),
        }),
        { abortSignal: signal },
      );
      for (const reservation of page.Reservations ?? [])
        for (const instance of reservation.Instances ?? [])
          if (instance.InstanceId) ids.push(instance.InstanceId);
      token = page.NextToken;
    } while (token);
  } catch (error) {
    throw awsError(error, "find the instances by tag");
  }
  if (ids.length === 0)
    throw rwError("RW_ERR_CONNECTOR_NOT_FOUND", `no running instance matches ${connectionTargets(clients)}`, {
      details: { reason: "targets" },
    });
  if (ids.length > 50)
    throw rwError(
      "RW_ERR_CONNECTOR_REJECTED",
      `${ids.length} running instances match the connection's tags; SendCommand takes at most 50: narrow the tags`,
      { details: { reason: "targets", count: ids.length } },
    );
  return ids;
}
