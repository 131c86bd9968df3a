import type { TicketingConnector } from "@runwarden/core";
import { defineConnector } from "@runwarden/core";
import { RemedyConfig } from "./config.js";
import { createRemedyIncidents } from "./internal/incidents.js";

const name = "remedy";

/**
 * The BMC Remedy / Helix ITSM connector: incidents through the AR REST API with a JWT (logged in
 * again on a 401, released on close). `create` goes through `HPD:IncidentInterface_Create` and is
 * idempotent through a correlation field, `comment` writes `HPD:WorkLog` entries found again by
 * their summary; `pullChanges` polls 'Last Modified Date' with a cursor and reports incidents
 * resolved, closed or cancelled remotely as `closed`.
 */
const remedy = defineConnector({
  kind: "ticketing",
  name,
  version: "0.1.0",
  sdk: "^0.1.0",
  description:
    "BMC Remedy / Helix ITSM: incidents through the AR REST API, idempotent writes, change polling.",
  configSchema: RemedyConfig,
  capabilities: ["create", "update", "comment", "pull-changes", "health-check", "describe"],
  vendorSetup: () => [
    {
      title: "Create an AR user for Runwarden",
      text: "Add a People record with a login (e.g. svc_runwarden), a fixed license, and the Incident Master or Incident User permission in the support groups Runwarden writes to; it must be able to read HPD:IncidentInterface and HPD:WorkLog and submit to HPD:IncidentInterface_Create.",
    },
    {
      title: "Enable the REST API",
      text: "The AR REST API is served by the Jetty server (default port 8008). Set serverUrl to it, e.g. https://remedy.example.com:8008, and auth.username/auth.password to the user above (auth.authString when your server needs one).",
    },
    {
      title: "Name the customer and the correlation field",
      text: "Set customer.firstName and customer.lastName to an existing People record that new incidents are reported for. Runwarden stores its idempotency key in 'Vendor Ticket Number' unless correlationField names another character field present on both interface forms.",
    },
  ],
  create(config, ctx): TicketingConnector {
    return createRemedyIncidents(config, { source: name, logger: ctx.logger, now: ctx.now });
  },
});

export default remedy;
