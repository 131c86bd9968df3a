/** The Azure side of the set-up, for the Connectors tab. */
import type { VendorSetupStep } from "@runwarden/core";

/** A custom role with exactly what the steps need. */
export const azureRole = {
  Name: "Runwarden Remediator",
  IsCustom: true,
  Description: "Run Command, restart, deallocate, start and instance view on virtual machines",
  Actions: [
    "Microsoft.Compute/virtualMachines/read",
    "Microsoft.Compute/virtualMachines/instanceView/read",
    "Microsoft.Compute/virtualMachines/runCommand/action",
    "Microsoft.Compute/virtualMachines/restart/action",
    "Microsoft.Compute/virtualMachines/deallocate/action",
    "Microsoft.Compute/virtualMachines/start/action",
    "Microsoft.Compute/locations/operations/read",
  ],
  NotActions: [],
  AssignableScopes: ["/subscriptions/<subscription id>/resourceGroups/<resource group>"],
};

/** The vendor set-up steps. */
export function azureSetup(): readonly VendorSetupStep[] {
  return [
    {
      title: "Create a service principal and a custom role",
      text: "Register an application in Entra ID (or use a managed identity when Runwarden runs on Azure), create the custom role below scoped to the resource group of the VMs, and assign it to the principal. Store the tenant id, client id and a client secret (or a certificate) as an Azure credential.",
      snippet: { language: "json", content: JSON.stringify(azureRole, null, 2) },
    },
    {
      title: "Assign the role",
      snippet: {
        language: "text",
        content:
          'az role definition create --role-definition role.json\naz role assignment create --assignee <client id> --role "Runwarden Remediator" --scope /subscriptions/<subscription id>/resourceGroups/<resource group>',
      },
    },
  ];
}
