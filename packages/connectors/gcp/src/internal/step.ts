/**
 * A `gcp` step (a ```` ```gcp ```` fence): YAML fields, one instance action per step, each field
 * typed. An instance name is a checked Compute Engine name, so a ticket value (rendered by core
 * as one quoted string) reaches the API only as that.
 */
import { rwError } from "@runwarden/core";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { gceName } from "../config.js";

const instanceStatus = z.enum([
  "PROVISIONING",
  "STAGING",
  "RUNNING",
  "STOPPING",
  "STOPPED",
  "SUSPENDING",
  "SUSPENDED",
  "REPAIRING",
  "TERMINATED",
]);

/** The actions of a gcp step. */
export const gcpStepSchema = z.discriminatedUnion("action", [
  z.strictObject({
    action: z.enum(["reset", "stop", "start"]),
    /** Another instance in the connection's project and zone (default: the connection's). */
    instance: gceName.optional(),
    /** Wait for the operation to finish (default true). */
    wait: z.boolean().default(true),
  }),
  z.strictObject({
    action: z.literal("status"),
    instance: gceName.optional(),
    /** Exit 0 only when the instance is in this state (exit 1 otherwise). */
    expect: instanceStatus.optional(),
  }),
]);

/** One parsed gcp step. */
export type GcpStep = z.output<typeof gcpStepSchema>;

/** Parses a gcp step, or throws RW_ERR_CONNECTOR_REJECTED saying which field is wrong. */
export function parseGcpStep(text: string): GcpStep {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw rwError(
      "RW_ERR_CONNECTOR_REJECTED",
      `a gcp step is YAML fields: ${(error as Error).message.split("\n")[0]}`,
      {
        details: { reason: "step" },
      },
    );
  }
  const parsed = gcpStepSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join(".") || "step";
    throw rwError("RW_ERR_CONNECTOR_REJECTED", `gcp step field ${field}: ${issue.message}`, {
      details: { reason: "step", field },
    });
  }
  return parsed.data;
}
