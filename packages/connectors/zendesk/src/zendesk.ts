import type { MonitoringConnector, TicketingConnector, VendorSetupStep } from "@runwarden/core";
import { defineConnector } from "@runwarden/core";
import { ZendeskConfig } from "./config.js";
import { createZendeskTickets } from "./internal/tickets.js";
import { parseZendeskWebhook, verifyZendeskSignature } from "./internal/webhook.js";

const name = "zendesk";

/**
 * The Zendesk connector: tickets through the Tickets API. `create` is idempotent through
 * `external_id`, `comment` (an internal note) through a marker in the note; `pullChanges` reads
 * the cursor-based incremental ticket export and reports tickets solved or closed remotely as
 * `closed`. Register it with core's ticket sync (`createEngine({ sync: { ticketing: "zendesk" } })`).
 */
const zendesk = defineConnector({
  kind: "ticketing",
  name,
  version: "0.1.0",
  sdk: "^0.1.0",
  description:
    "Zendesk: tickets, internal notes and status through the Tickets API, incremental cursor sync.",
  configSchema: ZendeskConfig,
  capabilities: ["create", "update", "comment", "pull-changes", "health-check", "describe"],
  vendorSetup: () => apiSetup,
  create(config, ctx): TicketingConnector {
    return createZendeskTickets(config, { source: name, logger: ctx.logger, now: ctx.now });
  },
});

export default zendesk;

const apiSetup: readonly VendorSetupStep[] = [
  {
    title: "Create an API token",
    text: "In Admin Center, Apps and integrations, Zendesk API: enable token access and add a token. Runwarden signs in as an agent (its e-mail and the token); the agent needs to see and edit the tickets of the groups Runwarden watches. Or give it an OAuth access token with the tickets:read and tickets:write scopes.",
  },
  {
    title: "Configure Runwarden",
    text: "Set the subdomain (acme for acme.zendesk.com), the auth, and optionally pull.groupIds and pull.tags to limit which tickets come in.",
    snippet: {
      language: "json",
      content:
        '{"subdomain":"acme","auth":{"type":"token","email":"runwarden@acme.example","token":"<api token>"},"pull":{"tags":["runwarden"]}}',
    },
  },
];

/**
 * Zendesk webhooks, as a monitoring source of the same name: a webhook subscribed to ticket events
 * (`zen:event-type:ticket.created`, `zen:event-type:ticket.status_changed`) pushes a new ticket at
 * once instead of at the next pull, and a ticket solved by a person resolves the local one. Each
 * request must carry a valid `X-Zendesk-Webhook-Signature` made with `webhookSecret` (without one,
 * every request is refused). Configured by the same object as {@link zendesk}.
 */
export const zendeskWebhook = defineConnector({
  kind: "monitoring",
  name,
  version: "0.1.0",
  sdk: "^0.1.0",
  description: "Zendesk webhooks: signed ticket events bring tickets in without waiting for the pull.",
  configSchema: ZendeskConfig,
  capabilities: ["webhook", "verify-webhook"],
  vendorSetup: ({ webhookUrl }) => [
    {
      title: "Create the webhook",
      text: "In Admin Center, Apps and integrations, Webhooks: create a webhook with the endpoint below, request method POST, format JSON, and subscribe it to the ticket events Ticket created and Ticket status changed. Authentication: none (the signature authenticates it).",
      snippet: { language: "text", content: webhookUrl },
    },
    {
      title: "Give Runwarden the signing secret",
      text: "Open the webhook, reveal its signing secret and set it as webhookSecret in Runwarden's Zendesk configuration. Requests without a valid X-Zendesk-Webhook-Signature, or signed more than five minutes ago, are refused.",
    },
  ],
  create(config, ctx): MonitoringConnector {
    const logger = ctx.logger.child({ component: "zendesk-webhook" });
    return {
      verifyWebhook: (request) =>
        verifyZendeskSignature(request, config.webhookSecret, ctx.now().getTime(), config.webhookToleranceMs),
      parseWebhook: async (request) => parseZendeskWebhook(request, config, name, logger),
    };
  },
});
