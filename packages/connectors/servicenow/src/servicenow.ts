import type { TicketingConnector } from "@runwarden/core";
import { defineConnector } from "@runwarden/core";
import { ServiceNowConfig } from "./config.js";
import { createServiceNowTable } from "./internal/table.js";

const name = "servicenow";

/**
 * The ServiceNow connector: incidents through the Table API. `create` is idempotent through
 * `correlation_id`, `comment` through a marker in the work note; `pullChanges` polls
 * `sys_updated_on` with a cursor and reports incidents resolved or closed remotely as `closed`.
 */
const servicenow = defineConnector({
  kind: "ticketing",
  name,
  version: "0.1.0",
  sdk: "^0.1.0",
  description: "ServiceNow: incidents through the Table API, idempotent writes, change polling.",
  configSchema: ServiceNowConfig,
  capabilities: ["create", "update", "comment", "pull-changes", "health-check", "describe"],
  vendorSetup: () => [
    {
      title: "Create an integration user",
      text: "In ServiceNow, create a user for Runwarden with Web service access only and time zone GMT, with the itil role, and read access to sys_journal_field (an ACL) so a retried work note is found instead of added twice.",
    },
    {
      title: "Optional: OAuth client credentials",
      text: "Create an OAuth API endpoint for external clients and set glide.oauth.inbound.client.credential.grant_type.enabled to true; use its client id and secret as auth type oauth.",
    },
    {
      title: "Configure Runwarden",
      text: "Give the instance URL, the auth, and the assignment groups (sys_ids) whose incidents Runwarden should pick up.",
      snippet: {
        language: "json",
        content:
          '{"instanceUrl":"https://<instance>.service-now.com","auth":{"type":"basic","username":"runwarden.integration","password":"<password>"},"pull":{"assignmentGroups":["<group sys_id>"]}}',
      },
    },
  ],
  create(config, ctx): TicketingConnector {
    return createServiceNowTable(config, { source: name, logger: ctx.logger, now: ctx.now });
  },
});

export default servicenow;
