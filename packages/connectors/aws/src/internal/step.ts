/**
 * Parses an AWS step (a ```` ```aws ```` fence): YAML fields, one action per step, each field
 * typed. Instance ids must match `i-[0-9a-f]{8,17}`, so a ticket value (rendered by core as one
 * quoted string field) reaches EC2 or SSM only as a checked id; a `run-command` step's `commands`
 * must be a list, which a template value (always a string) can never be.
 */
import { parseTypedStep, stepDuration } from "@runwarden/connector-kit";
import { rwError } from "@runwarden/core";
import { z } from "zod";
import { awsActions, instanceId } from "../config.js";

const boolean = z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]);

/** `instance_id: i-…` or `instance_ids: [i-…, …]` (at most 50). */
const targets = {
  instance_id: instanceId.optional(),
  instance_ids: z.array(instanceId).min(1).max(50).optional(),
};

/** An Auto Scaling group name as a ticket may give it: letters, digits, - _ . (no ARN, no spaces). */
const autoScalingGroupName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/,
    "an Auto Scaling group name: letters, digits, - _ . (at most 255)",
  );

const commandLine = z.union([z.string(), z.number(), z.boolean()]).transform(String);

export const stepSchema = z.discriminatedUnion("action", [
  z.strictObject({
    action: z.literal("run-command"),
    ...targets,
    /** The script's lines. A list, so no template value can become a command. */
    commands: z
      .array(commandLine, { error: "commands must be a list of lines, e.g. [systemctl restart nginx]" })
      .min(1)
      .max(1000),
    platform: z.enum(["linux", "windows"]).optional(),
    working_directory: z.string().min(1).max(512).optional(),
    timeout: stepDuration.optional(),
  }),
  z.strictObject({ action: z.literal("reboot"), ...targets }),
  z.strictObject({
    action: z.literal("stop"),
    ...targets,
    /** Force the stop (no clean OS shutdown). Default false. */
    force: boolean.default(false),
    /** Wait until the instances are `stopped`. Default true. */
    wait: boolean.default(true),
    timeout: stepDuration.optional(),
  }),
  z.strictObject({
    action: z.literal("start"),
    ...targets,
    /** Wait until the instances are `running`. Default true. */
    wait: boolean.default(true),
    timeout: stepDuration.optional(),
  }),
  z.strictObject({
    action: z.literal("instance-refresh"),
    /** The Auto Scaling group to refresh (a checked name, never a path or ARN). */
    auto_scaling_group: autoScalingGroupName,
    /** Percentage of the group that must stay in service (Preferences.MinHealthyPercentage). */
    min_healthy_percentage: z.number().int().min(0).max(100).optional(),
    /** Seconds a new instance needs before it counts as healthy (Preferences.InstanceWarmup). */
    instance_warmup: z.number().int().min(0).max(3600).optional(),
    /** Wait until the refresh ends (Successful, Failed, Cancelled…). Default true. */
    wait: boolean.default(true),
    timeout: stepDuration.optional(),
  }),
  z.strictObject({
    action: z.literal("describe-status"),
    ...targets,
    /** The state every instance must be in for the step to succeed. Default running. */
    expect_state: z
      .enum(["pending", "running", "stopping", "stopped", "shutting-down", "terminated"])
      .default("running"),
    /** Also require both status checks `ok` (running instances only). Default false. */
    expect_checks_ok: boolean.default(false),
  }),
]);

/** A parsed AWS step. */
export type AwsStep = z.output<typeof stepSchema> & { instances?: string[] };

/** Parses an aws step's text; throws RW_ERR_CONNECTOR_REJECTED naming the field that is wrong. */
export function parseAwsStep(text: string): AwsStep {
  const step = parseTypedStep(text, {
    fence: "aws",
    schema: stepSchema,
    actions: awsActions,
    example: "`action: reboot`, `instance_id: i-0123456789abcdef0`",
  });
  if (step.action === "instance-refresh") return step;
  if (step.instance_id && step.instance_ids)
    throw rwError(
      "RW_ERR_CONNECTOR_REJECTED",
      "invalid aws step: give instance_id or instance_ids, not both",
      {
        details: { reason: "step", field: "instance_ids" },
      },
    );
  const ids = step.instance_ids ?? (step.instance_id ? [step.instance_id] : undefined);
  return ids ? { ...step, instances: [...new Set(ids)] } : step;
}

/** One line for an approver: what the step does, on which instances; never a secret. */
export function describeStep(step: AwsStep, fallbackTargets: string): string {
  const on = step.instances ? step.instances.join(", ") : fallbackTargets;
  switch (step.action) {
    case "run-command":
      return `run ${step.commands.length} line(s) through SSM Run Command on ${on}: ${JSON.stringify(step.commands)}`;
    case "reboot":
      return `reboot EC2 instance(s) ${on}`;
    case "stop":
      return `${step.force ? "force-stop" : "stop"} EC2 instance(s) ${on}${step.wait ? " and wait until stopped" : ""}`;
    case "start":
      return `start EC2 instance(s) ${on}${step.wait ? " and wait until running" : ""}`;
    case "instance-refresh":
      return `start an instance refresh of Auto Scaling group ${step.auto_scaling_group}${step.min_healthy_percentage === undefined ? "" : ` keeping ${step.min_healthy_percentage}% healthy`}${step.wait ? " and wait until it ends" : ""}`;
    case "describe-status":
      return `check that EC2 instance(s) ${on} are ${step.expect_state}${step.expect_checks_ok ? " with status checks ok" : ""}`;
  }
}
