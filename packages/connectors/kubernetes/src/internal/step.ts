/**
 * Parses a Kubernetes step (a ```` ```k8s ```` fence): YAML fields, one action per step, each
 * field typed. Names are RFC 1123 names, so a ticket value (rendered by core as one quoted
 * string field) reaches the API only as a checked name; an exec `command` must be a list, which
 * a template value (always a string) can never be.
 */
import { parseTypedStep, stepDuration } from "@runwarden/connector-kit";
import { z } from "zod";
import { kubernetesActions, rfc1123Label, rfc1123Name } from "../config.js";

/** An integer, also written as a quoted string of digits (a rendered template value). */
const count = (max: number) =>
  z
    .union([z.number().int(), z.string().regex(/^\d+$/, "a whole number")])
    .transform(Number)
    .pipe(z.number().int().min(0).max(max));

const namespace = rfc1123Label.optional();
const workloadKind = z.enum(["deployment", "statefulset", "daemonset"]);

const base = { namespace };

export const stepSchema = z.discriminatedUnion("action", [
  z.strictObject({
    action: z.literal("exec"),
    ...base,
    pod: rfc1123Name,
    container: rfc1123Label.optional(),
    command: z
      .array(z.union([z.string().min(1), z.number(), z.boolean()]).transform(String), {
        error: "command must be a list of arguments, e.g. [nginx, -s, reload]",
      })
      .min(1),
  }),
  z.strictObject({ action: z.literal("rollout-restart"), ...base, kind: workloadKind, name: rfc1123Name }),
  z.strictObject({
    action: z.literal("scale"),
    ...base,
    kind: z.enum(["deployment", "statefulset"]),
    name: rfc1123Name,
    replicas: count(10_000),
  }),
  z.strictObject({
    action: z.literal("delete-pod"),
    ...base,
    pod: rfc1123Name,
    grace_period_seconds: count(86_400).optional(),
  }),
  z.strictObject({ action: z.literal("cordon"), node: rfc1123Name }),
  z.strictObject({ action: z.literal("uncordon"), node: rfc1123Name }),
  z.strictObject({
    action: z.literal("drain"),
    node: rfc1123Name,
    /** Leave DaemonSet pods in place (kubectl's --ignore-daemonsets). Default true. */
    ignore_daemonsets: z.boolean().default(true),
    /** Evict pods with emptyDir volumes (their data is lost). Default false: such a pod stops the drain. */
    delete_emptydir_data: z.boolean().default(false),
    grace_period_seconds: count(86_400).optional(),
    timeout: stepDuration.optional(),
  }),
  z.strictObject({
    action: z.literal("logs"),
    ...base,
    pod: rfc1123Name,
    container: rfc1123Label.optional(),
    tail: count(1_000_000).default(100),
    previous: z.boolean().default(false),
  }),
  z.strictObject({
    action: z.literal("status"),
    ...base,
    kind: z.enum(["deployment", "statefulset", "daemonset", "pod", "node"]),
    name: rfc1123Name,
  }),
  z.strictObject({
    action: z.literal("rollout-status"),
    ...base,
    kind: workloadKind,
    name: rfc1123Name,
    timeout: stepDuration.optional(),
  }),
]);

/** A parsed Kubernetes step. */
export type K8sStep = z.output<typeof stepSchema>;

/** Parses a k8s step's text; throws RW_ERR_CONNECTOR_REJECTED naming the field that is wrong. */
export function parseK8sStep(text: string): K8sStep {
  return parseTypedStep(text, {
    fence: "k8s",
    schema: stepSchema,
    actions: kubernetesActions,
    example: "`action: rollout-restart`, `kind: deployment`, `name: web`",
  });
}

/** The namespace a step acts in. */
export function namespaceOf(step: K8sStep, fallback: string): string {
  return "namespace" in step && step.namespace ? step.namespace : fallback;
}

/** One line for an approver: what the step does, on which object; never a secret. */
export function describeStep(step: K8sStep, namespace: string): string {
  const ns = namespaceOf(step, namespace);
  switch (step.action) {
    case "exec":
      return `exec in pod ${ns}/${step.pod}${step.container ? ` container ${step.container}` : ""}: ${JSON.stringify(step.command)}`;
    case "rollout-restart":
      return `rollout restart ${step.kind} ${ns}/${step.name}`;
    case "scale":
      return `scale ${step.kind} ${ns}/${step.name} to ${step.replicas} replicas`;
    case "delete-pod":
      return `delete pod ${ns}/${step.pod}`;
    case "cordon":
    case "uncordon":
      return `${step.action} node ${step.node}`;
    case "drain":
      return `drain node ${step.node} (evict its pods${step.ignore_daemonsets ? ", leaving DaemonSet pods" : ""})`;
    case "logs":
      return `read the last ${step.tail} log lines of pod ${ns}/${step.pod}${step.container ? ` container ${step.container}` : ""}`;
    case "status":
      return `read the status of ${step.kind} ${step.kind === "node" ? step.name : `${ns}/${step.name}`}`;
    case "rollout-status":
      return `wait for the rollout of ${step.kind} ${ns}/${step.name}`;
  }
}
