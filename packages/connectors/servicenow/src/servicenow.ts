import type { TicketingConnector } from "@runwarden/core";
import { defineConnector } from "@runwarden/core";
import { ServiceNowConfig } from "./config.js";
import { createServiceNowTable } from "./internal/table.js";
import { serviceNowSetup } from "./internal/vendor-setup.js";

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
  vendorSetup: serviceNowSetup,
  create(config, ctx): TicketingConnector {
    return createServiceNowTable(config, { source: name, logger: ctx.logger, now: ctx.now });
  },
});

export default servicenow;
