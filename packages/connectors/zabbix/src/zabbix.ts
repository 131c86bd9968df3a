import type { MonitoringConnector, VendorSetupStep } from "@runwarden/core";
import { defineConnector } from "@runwarden/core";
import { ZabbixConfig } from "./config.js";
import { createZabbixApi, describeZabbixWrite } from "./internal/api.js";
import { createZabbixRpc } from "./internal/rpc.js";
import { mediaTypeName, mediaTypeYaml } from "./media-type.js";
import { createWebhookParser, verifyZabbixRequest } from "./webhook.js";

const name = "zabbix";

/** The vendor-side set-up, in order, as the Connectors tab shows it. */
export function zabbixVendorSetup(where: { webhookUrl: string }): VendorSetupStep[] {
  return [
    {
      title: "Import the Runwarden media type",
      text: 'In Zabbix, Alerts → Media types → Import, choose this file (also shipped as @runwarden/connector-zabbix/media/runwarden-media-type.yaml) and import it with "Create new" checked.',
      snippet: { language: "yaml", content: mediaTypeYaml({ url: where.webhookUrl }) },
    },
    {
      title: "Set its URL and Secret parameters",
      text: `Open the "${mediaTypeName}" media type: URL must be ${where.webhookUrl} and Secret the connector's webhookAuth.secret (at least 16 characters; the media type sends it as "Authorization: Bearer <secret>"). Set HTTPProxy if Zabbix reaches Runwarden through a proxy.`,
    },
    {
      title: "Give a user the media",
      text: `Users → Users → (a user that can read the hosts to watch, e.g. a dedicated "runwarden" user) → Media → Add: type ${mediaTypeName}, Send to "runwarden", all severities you want remediated, enabled.`,
    },
    {
      title: "Send problems and recoveries to it with an action",
      text: `Alerts → Actions → Trigger actions → Create action, with the conditions you want (host group, tags, severity). Operations: "Send message" to that user via ${mediaTypeName}. Recovery operations: "Notify all involved". Update operations are optional: only an update that closes the problem changes anything (it resolves the ticket).`,
    },
    {
      title: "Let Runwarden acknowledge and close problems (optional)",
      text: 'For pull, acknowledge and resolve, configure url (the frontend\'s URL, without api_jsonrpc.php) and auth: an API token (Users → API tokens) or a user and password. The user needs read-write access to the host groups. To let resolve close problems, tick "Allow manual close" on the triggers; otherwise resolve only adds a message.',
    },
  ];
}

/**
 * The Zabbix connector: receives the Runwarden media type's calls (problems, recoveries,
 * updates), pulls problems through the JSON-RPC API (6.0 LTS to 7.x), acknowledges a problem when
 * a session starts and closes it (or adds a message) when its ticket resolves, with
 * `event.acknowledge`. Register it under the source name `zabbix`: the media type posts to
 * `/api/v1/tickets/webhook/zabbix`.
 */
const zabbix = defineConnector({
  kind: "monitoring",
  name,
  version: "0.1.0",
  sdk: "^0.1.0",
  description: "Zabbix 6.0–7.x: webhook media type, problem pull, event.acknowledge.",
  configSchema: ZabbixConfig,
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
  vendorSetup: zabbixVendorSetup,
  create(config, ctx): MonitoringConnector {
    const connector: MonitoringConnector = {
      verifyWebhook: (request) => verifyZabbixRequest(config.webhookAuth, request),
      parseWebhook: createWebhookParser(config, name),
    };
    const { url, auth } = config;
    if (url === undefined || auth === undefined) return connector;
    const rpc = createZabbixRpc(
      { url, auth, timeoutMs: config.timeoutMs, dispatcher: config.dispatcher },
      { logger: ctx.logger, now: ctx.now },
    );
    const api = createZabbixApi(config, rpc, { source: name, logger: ctx.logger, now: ctx.now });
    // Each call's signal comes from core with engine shutdown and the call's timeout in it.
    return {
      ...connector,
      pull: ({ since, signal }) => api.pull({ since, signal }),
      acknowledge: (ticket, { sessionId, signal }) => api.acknowledge(ticket, { sessionId, signal }),
      resolve: (ticket, { sessionId, signal }) => api.resolve(ticket, { sessionId, signal }),
      note: (ticket, text, { sessionId, signal }) => api.note(ticket, text, { sessionId, signal }),
      describe: (write) => describeZabbixWrite(write, config),
      healthCheck: ({ signal }) => api.healthCheck(signal),
      close: () => rpc.close(),
    };
  },
});

export default zabbix;
