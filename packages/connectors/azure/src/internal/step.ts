/**
 * An `azure` step (a ```` ```azure ```` fence): YAML fields, one VM action per step, each field
 * typed. A VM name is checked, so a ticket value (rendered by core as one quoted string) reaches
 * ARM only as a checked name.
 */
import { parseTypedStep } from "@runwarden/connector-kit";
import { z } from "zod";
import { vmName } from "../config.js";

/** The power states the instance view reports (`PowerState/<state>`). */
const powerState = z.enum([
  "starting",
  "running",
  "stopping",
  "stopped",
  "deallocating",
  "deallocated",
  "unknown",
]);

/** The actions of an azure step. */
export const azureStepSchema = z.discriminatedUnion("action", [
  z.strictObject({
    action: z.enum(["restart", "deallocate", "start"]),
    /** Another VM in the connection's resource group (default: the connection's). */
    vm: vmName.optional(),
  }),
  z.strictObject({
    action: z.literal("instance-view"),
    vm: vmName.optional(),
    /** Exit 0 only when the power state is this one (exit 1 otherwise). */
    expect_power_state: powerState.optional(),
  }),
]);

/** One parsed azure step. */
export type AzureStep = z.output<typeof azureStepSchema>;

/** Parses an azure step, or throws RW_ERR_CONNECTOR_REJECTED saying which field is wrong. */
export function parseAzureStep(text: string): AzureStep {
  return parseTypedStep(text, {
    fence: "azure",
    schema: azureStepSchema,
    example: "`action: restart`, `vm: web-01`",
  });
}
