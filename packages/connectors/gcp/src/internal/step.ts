/**
 * A `gcp` step (a ```` ```gcp ```` fence): YAML fields, one instance action per step, each field
 * typed. An instance name is a checked Compute Engine name, so a ticket value (rendered by core
 * as one quoted string) reaches the API only as that.
 */
import { parseTypedStep } from "@runwarden/connector-kit";
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
  return parseTypedStep(text, {
    fence: "gcp",
    schema: gcpStepSchema,
    example: "`action: reset`, `instance: web-1`",
  });
}
