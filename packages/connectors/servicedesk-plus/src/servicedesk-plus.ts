import type { TicketingConnector } from "@runwarden/core";
import { defineConnector } from "@runwarden/core";
import { ServiceDeskPlusConfig } from "./config.js";
import { createSdpRequests } from "./internal/requests.js";

const name = "servicedesk-plus";

/**
 * The ManageEngine ServiceDesk Plus connector: requests through API v3, on-premises (`authtoken`)
 * or Cloud (Zoho OAuth). `create` is idempotent through a correlation marker (a UDF field or a
 * description line), `comment` through a marker in the note; `pullChanges` polls
 * `last_updated_time` with a cursor and reports requests resolved, closed or cancelled remotely
 * as `closed`.
 */
const servicedeskPlus = defineConnector({
  kind: "ticketing",
  name,
  version: "0.1.0",
  sdk: "^0.1.0",
  description: "ManageEngine ServiceDesk Plus: requests through API v3, idempotent writes, change polling.",
  configSchema: ServiceDeskPlusConfig,
  capabilities: ["create", "update", "comment", "pull-changes", "health-check", "describe"],
  vendorSetup: () => [
    {
      title: "Create a technician for Runwarden",
      text: "Add a technician (e.g. runwarden.integration) whose role may view, add, edit and close requests and add notes, and who belongs to the groups Runwarden should watch.",
    },
    {
      title: "On-premises: generate its API key",
      text: 'Sign in as that technician, open Personalize > API Key Generation and generate a key; set it as auth.authtoken (auth.type "authtoken").',
    },
    {
      title: "Cloud: register a Zoho OAuth client",
      text: 'In the Zoho API console of your data centre create a Self Client, generate a code with scope SDPOnDemand.requests.ALL, exchange it for a refresh token, and set clientId, clientSecret, refreshToken and accountsUrl (auth.type "oauth"). Set baseUrl to https://sdpondemand.manageengine.<dc>/app/<portal>.',
    },
    {
      title: "Optional: a correlation field",
      text: 'Add a single-line additional field to requests (e.g. "Runwarden key", udf_sline_301) and set correlationField to its key, so idempotency lookups search that field instead of the description.',
    },
  ],
  create(config, ctx): TicketingConnector {
    return createSdpRequests(config, { source: name, logger: ctx.logger, now: ctx.now });
  },
});

export default servicedeskPlus;
