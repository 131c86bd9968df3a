import type { MonitoringConnector, VendorSetupStep } from "@runwarden/core";
import { defineConnector } from "@runwarden/core";
import { SolarWindsConfig } from "./config.js";
import { createSolarWindsAlerts, describeWrite } from "./internal/alerts.js";
import { createSwisClient, swisBaseUrl } from "./internal/swis.js";
import { webhookResetTemplate, webhookTemplate } from "./payload.js";
import { createWebhookParser, verifySolarWindsRequest } from "./webhook.js";

const name = "solarwinds";

/**
 * What to set up in Orion so it calls Runwarden: one alert action for the trigger and one for the
 * reset, each "Send a GET or POST Request to a Web Server" with `webhookTemplate` as its body.
 */
export function solarWindsVendorSetup(where: { webhookUrl: string }): VendorSetupStep[] {
  return [
    {
      title: "Give Runwarden an Orion account (for pull, acknowledge and clear)",
      text: "In Settings > All Settings > Manage Accounts, create an account that may acknowledge and clear alerts (the SWIS verbs need the clearEvents right). Configure its user name and password, the SWIS URL (https://<orion>:17774) and, for a self-signed certificate, tls.ca with its CA in PEM.",
    },
    {
      title: "Add a trigger action to each alert",
      text: `In Alerts > Manage Alerts, edit the alert, open Trigger Actions and add "Send a GET or POST Request to a Web Server": URL ${where.webhookUrl}, method POST, content type text/plain (a JSON body still; with application/json the server refuses a body whose values Orion did not escape, a quote or a backslash), and this body. Under authentication, choose basic and give the user name and password of webhookAuth (or set the header of webhookAuth in a proxy in front of Runwarden).`,
      snippet: { language: "json", content: JSON.stringify(webhookTemplate, null, 2) },
    },
    {
      title: "Add a reset action with the same request",
      text: 'Open Reset Actions and add the same action with "Event": "Reset", so Runwarden resolves the ticket when the alert resets.',
      snippet: { language: "json", content: JSON.stringify(webhookResetTemplate, null, 2) },
    },
  ];
}

/**
 * The SolarWinds Orion connector: receives the alert actions' "Send a GET or POST Request to a Web
 * Server" calls (body = `webhookTemplate`), pulls active alerts (and resets) over SWIS with SWQL,
 * acknowledges with `Orion.AlertActive.Acknowledge` and resolves with `AppendNote` and
 * `ClearAlert`. Register it under the source name `solarwinds`: the alert actions post to
 * `/api/v1/tickets/webhook/solarwinds`.
 */
const solarwinds = defineConnector({
  kind: "monitoring",
  name,
  version: "0.1.0",
  sdk: "^0.1.0",
  description: "SolarWinds Orion: alert action webhook, SWIS alert pull, acknowledge, notes and clear.",
  configSchema: SolarWindsConfig,
  capabilities: [
    "webhook",
    "verify-webhook",
    "pull",
    "acknowledge",
    "resolve",
    "note",
    "health-check",
    "describe",
  ],
  vendorSetup: (where) => solarWindsVendorSetup(where),
  create(config, ctx): MonitoringConnector {
    const connector: MonitoringConnector = {
      verifyWebhook: (request) => verifySolarWindsRequest(config.webhookAuth, request),
      parseWebhook: createWebhookParser(config, name),
    };
    const { url, username, password } = config;
    if (url === undefined || username === undefined || password === undefined) return connector;
    if (!config.tls.verify) {
      ctx.logger.warn({ url }, "solarwinds TLS verification is off (tls.verify: false)");
    }
    const swis = createSwisClient({ ...config, url, username, password }, { now: () => ctx.now().getTime() });
    const alerts = createSolarWindsAlerts(swis, config, { source: name, logger: ctx.logger, now: ctx.now });
    const host = swisBaseUrl(url).host;
    // Each call's signal comes from core with engine shutdown and the call's timeout in it.
    return {
      ...connector,
      pull: ({ since, signal }) => alerts.pull({ since, signal }),
      acknowledge: (ticket, { signal }) => alerts.acknowledge(ticket, signal),
      resolve: (ticket, { signal }) => alerts.resolve(ticket, signal),
      note: (ticket, text, { idempotencyKey, signal }) => alerts.note(ticket, text, idempotencyKey, signal),
      describe: (write) => describeWrite(write, host, config.resolveAction),
      healthCheck: ({ signal }) => alerts.healthCheck(signal),
      close: () => swis.close(),
    };
  },
});

export default solarwinds;
