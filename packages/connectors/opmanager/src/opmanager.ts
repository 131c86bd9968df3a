import type { MonitoringConnector, VendorSetupStep } from "@runwarden/core";
import { defineConnector } from "@runwarden/core";
import { OpManagerConfig } from "./config.js";
import { createOpManagerApi, describeWrite } from "./internal/api.js";
import { webhookTemplate } from "./payload.js";
import { createWebhookParser, verifyOpManagerRequest } from "./webhook.js";

const name = "opmanager";

/** What to set up in OpManager so it calls Runwarden: an "Invoke a Web Hook" notification profile. */
export function opManagerVendorSetup(where: { webhookUrl: string }): VendorSetupStep[] {
  return [
    {
      title: "Give Runwarden the REST API key (for pull, acknowledge and clear)",
      text: "In OpManager, copy the key from Quick Links (the gear icon) > Rest API Key, or regenerate it under Settings > Basic Settings > REST API. Configure it as apiKey with the web client's URL (https://<opmanager>:8061). OpManager build 128100 or later is needed: the key is sent in the apiKey header.",
    },
    {
      title: 'Create an "Invoke a Web Hook" notification profile',
      text: `In Settings > Notifications > Notification Profiles, add a profile of type "Invoke a Web Hook": URL ${where.webhookUrl}, method POST, payload type JSON, and this body (if the profile lets you choose the content type, text/plain lets a body whose values OpManager did not escape, a quote or a backslash, still reach Runwarden). Add the header of webhookAuth (X-Runwarden-Webhook-Secret: <secret>) under custom headers. Choose the criteria (alarm raised, severity changes, alarm cleared) and the devices, and save.`,
      snippet: { language: "json", content: JSON.stringify(webhookTemplate, null, 2) },
    },
    {
      title: "Send the clear too",
      text: 'Select the "alarm is cleared" criterion as well: a notification with severity Clear resolves the ticket.',
    },
  ];
}

/**
 * The ManageEngine OpManager connector: receives an "Invoke a Web Hook" notification profile's
 * calls (body = `webhookTemplate`), pulls alarms with `listAlarms`, acknowledges with `addNotes`
 * and `acknowledgeAlarm`, and resolves with `addNotes` and `clearAlarm`. Register it under the
 * source name `opmanager`: the profile posts to `/api/v1/tickets/webhook/opmanager`.
 */
const opmanager = defineConnector({
  kind: "monitoring",
  name,
  version: "0.1.0",
  sdk: "^0.1.0",
  description:
    "ManageEngine OpManager: web hook notification profile, alarms pull, acknowledge, notes and clear.",
  configSchema: OpManagerConfig,
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
  vendorSetup: (where) => opManagerVendorSetup(where),
  create(config, ctx): MonitoringConnector {
    const connector: MonitoringConnector = {
      verifyWebhook: (request) => verifyOpManagerRequest(config.webhookAuth, request),
      parseWebhook: createWebhookParser(config, name),
    };
    const { url, apiKey } = config;
    if (url === undefined || apiKey === undefined) return connector;
    if (!config.tls.verify) ctx.logger.warn({ url }, "opmanager TLS verification is off (tls.verify: false)");
    const api = createOpManagerApi(
      { ...config, url, apiKey },
      { source: name, logger: ctx.logger, now: ctx.now },
    );
    const host = new URL(url).host;
    // Each call's signal comes from core with engine shutdown and the call's timeout in it.
    return {
      ...connector,
      pull: ({ since, signal }) => api.pull({ since, signal }),
      acknowledge: (ticket, { signal }) => api.acknowledge(ticket, signal),
      resolve: (ticket, { signal }) => api.resolve(ticket, signal),
      note: (ticket, text, { signal }) => api.note(ticket, text, signal),
      describe: (write) => describeWrite(write, host, config.resolveAction),
      healthCheck: ({ signal }) => api.healthCheck(signal),
      close: () => api.close(),
    };
  },
});

export default opmanager;
