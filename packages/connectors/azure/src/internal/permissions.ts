/**
 * What the credential may do on the VM: `GET {vm}/providers/Microsoft.Authorization/permissions`
 * through the compute client's own pipeline (its token, retries and TLS settings), matched with
 * ARM's wildcards against the actions the steps need.
 */
import { createDefaultHttpClient, createPipelineRequest } from "@azure/core-rest-pipeline";
import type { AzureConfig } from "../config.js";
import { type Azure, armError } from "./client.js";

/** The actions the connector's steps need. */
export const REQUIRED_ACTIONS = [
  "Microsoft.Compute/virtualMachines/read",
  "Microsoft.Compute/virtualMachines/instanceView/read",
  "Microsoft.Compute/virtualMachines/runCommand/action",
  "Microsoft.Compute/virtualMachines/restart/action",
  "Microsoft.Compute/virtualMachines/deallocate/action",
  "Microsoft.Compute/virtualMachines/start/action",
];

interface Permission {
  actions?: string[];
  notActions?: string[];
}

function matches(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
      .join(".*")}$`,
    "i",
  );
  return re.test(action);
}

/** Whether `permissions` allow `action` (some actions entry matches and no notActions of the same entry). */
export function allowed(permissions: readonly Permission[], action: string): boolean {
  return permissions.some(
    (p) =>
      (p.actions ?? []).some((a) => matches(a, action)) &&
      !(p.notActions ?? []).some((n) => matches(n, action)),
  );
}

/** The required actions the credential lacks on the connection's VM. */
export async function missingActions(
  azure: Azure,
  config: AzureConfig,
  signal: AbortSignal,
): Promise<string[]> {
  const { subscriptionId, resourceGroup, vm } = azure.target;
  const url = `${config.endpoints.resourceManager}/subscriptions/${subscriptionId}/resourceGroups/${encodeURIComponent(resourceGroup)}/providers/Microsoft.Compute/virtualMachines/${encodeURIComponent(vm)}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`;
  const response = await azure.compute.pipeline.sendRequest(
    createDefaultHttpClient(),
    createPipelineRequest({ url, method: "GET", abortSignal: signal }),
  );
  if (response.status !== 200) {
    let message = `HTTP ${response.status}`;
    try {
      message =
        (JSON.parse(response.bodyAsText ?? "") as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      // keep the status
    }
    throw armError({ statusCode: response.status, message }, `reading the permissions on ${vm}`);
  }
  const body = JSON.parse(response.bodyAsText ?? "{}") as { value?: Permission[] };
  return REQUIRED_ACTIONS.filter((action) => !allowed(body.value ?? [], action));
}
