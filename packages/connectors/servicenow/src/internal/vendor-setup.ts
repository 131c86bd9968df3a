/** What to set up on the ServiceNow instance, as the Connectors tab shows it (see the README). */
import type { VendorSetupStep } from "@runwarden/core";

/** ServiceNow needs no webhook: Runwarden calls the Table API and polls for changes. */
export function serviceNowSetup(): VendorSetupStep[] {
  return [
    {
      title: "Create an integration user",
      text: 'User Administration → Users → New: user ID runwarden.integration, "Web service access only" checked, time zone GMT (the change cursor assumes UTC). Give it the itil role (read, create and update incidents, write work notes).',
    },
    {
      title: "Let it read work notes",
      text: "So that a work note is never written twice, the user reads sys_journal_field: add a read ACL on sys_journal_field for its role (by default only admin can read the table).",
    },
    {
      title: "Choose how Runwarden signs in",
      text: "Basic: configure auth with the user's name and password. OAuth (client credentials): System OAuth → Application Registry → Create an OAuth API endpoint for external clients, then set the property below; configure auth with the client id and secret.",
      snippet: {
        language: "text",
        content: "glide.oauth.inbound.client.credential.grant_type.enabled = true\n",
      },
    },
    {
      title: "Check the close code",
      text: 'Resolving needs a close_code your release knows: list them (sys_choice, name=incident, element=close_code) and set closeCode if "Solution provided" is not one.',
    },
  ];
}
