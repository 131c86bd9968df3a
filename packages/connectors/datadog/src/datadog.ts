import type { MonitoringConnector } from "@runwarden/core";
import { defineConnector } from "@runwarden/core";
import { DatadogConfig } from "./config.js";
import { createDatadogApi } from "./internal/api.js";
import { describeDowntimeWrite } from "./internal/downtime.js";
import { datadogSetup, sampleDatadogWebhook } from "./internal/vendor-setup.js";
import { createWebhookParser, verifyDatadogRequest } from "./webhook.js";

const name = "datadog";

/**
 * The Datadog connector: receives the Webhooks integration's calls (body = `webhookTemplate`),
 * pulls monitor groups in Alert/Warn plus alert events since a cursor, acknowledges with a
 * Downtime (API v2) on the alert's monitor and scope and resolves by cancelling it. Register it under the
 * source name `datadog`: the webhook posts to `/api/v1/tickets/webhook/datadog`.
 */
const datadog = defineConnector({
  kind: "monitoring",
  name,
  version: "0.1.0",
  sdk: "^0.1.0",
  description: "Datadog: webhook receiver, monitor groups and events pull, downtimes.",
  configSchema: DatadogConfig,
  capabilities: ["webhook", "verify-webhook", "pull", "acknowledge", "resolve", "health-check", "describe"],
  vendorSetup: datadogSetup,
  sampleWebhook: sampleDatadogWebhook,
  create(config, ctx): MonitoringConnector {
    const connector: MonitoringConnector = {
      verifyWebhook: (request) => verifyDatadogRequest(config.webhookAuth, request),
      parseWebhook: createWebhookParser(config, name),
    };
    const { apiKey, applicationKey } = config;
    if (apiKey === undefined || applicationKey === undefined) return connector;

    const api = createDatadogApi(
      { ...config, apiKey, applicationKey },
      { source: name, logger: ctx.logger, now: ctx.now },
    );
    // Each call's signal comes from core with engine shutdown and the call's timeout in it.
    return {
      ...connector,
      pull: ({ since, signal }) => api.pull({ since, signal }),
      acknowledge: (ticket, { signal }) => api.acknowledge(ticket, signal),
      resolve: (ticket, { signal }) => api.resolve(ticket, signal),
      describe: (write) => describeDowntimeWrite(write, config.downtime.durationMs),
      healthCheck: ({ signal }) => api.healthCheck(signal),
    };
  },
});

export default datadog;
