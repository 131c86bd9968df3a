/** The Google Cloud side of the set-up, for the Connectors tab. */
import type { VendorSetupStep } from "@runwarden/core";

const role = `title: Runwarden remediator
description: Reset, stop, start and read instances (OS Login admin login is granted separately)
stage: GA
includedPermissions:
  - compute.instances.get
  - compute.instances.reset
  - compute.instances.stop
  - compute.instances.start
  - compute.zoneOperations.get
`;

/** The vendor set-up steps. */
export function gcpSetup(): readonly VendorSetupStep[] {
  return [
    {
      title: "Create a service account and a custom role",
      text: "Create a service account for Runwarden, a custom role with the permissions below, and grant both the role and roles/compute.osAdminLogin (or roles/compute.osLogin for non-root commands) on the project or the instances. roles/iam.serviceAccountUser is also needed when the VM runs as a service account.",
      snippet: {
        language: "text",
        content: `gcloud iam service-accounts create runwarden
gcloud iam roles create runwardenRemediator --project PROJECT --file role.yaml
gcloud projects add-iam-policy-binding PROJECT --member serviceAccount:runwarden@PROJECT.iam.gserviceaccount.com --role projects/PROJECT/roles/runwardenRemediator
gcloud projects add-iam-policy-binding PROJECT --member serviceAccount:runwarden@PROJECT.iam.gserviceaccount.com --role roles/compute.osAdminLogin

# role.yaml
${role}`,
      },
    },
    {
      title: "Enable OS Login on the VMs",
      text: "Set the metadata enable-oslogin=TRUE on the project or on each instance Runwarden may reach, and allow SSH (port 22) from the Runwarden server in the VPC firewall.",
      snippet: {
        language: "text",
        content: "gcloud compute project-info add-metadata --metadata enable-oslogin=TRUE",
      },
    },
    {
      title: "Store the key, pin the host key",
      text: "Create a JSON key for the service account and store it as a gcp_service_account credential (or use gcp_workload_identity when Runwarden runs on GKE/GCE). Pin each VM's SSH host key in the connection's host_key_fingerprint (gcloud compute instances get-guest-attributes INSTANCE --query-path=hostkeys/).",
    },
  ];
}
