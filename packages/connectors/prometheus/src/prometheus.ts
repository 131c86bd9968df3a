import type { MonitoringConnector } from "@runwarden/core";
import { defineConnector } from "@runwarden/core";
import { PrometheusConfig } from "./config.js";
import { createAlertmanagerApi, describeSilenceWrite } from "./internal/api.js";
import { alertmanagerSetup, sampleAlertmanagerWebhook } from "./internal/vendor-setup.js";
import { createWebhookParser, verifyAlertmanagerRequest } from "./webhook.js";

const name = "prometheus";

/**
 * The Prometheus Alertmanager connector: receives Alertmanager's webhook (payload version 4, one
 * ticket per alert), pulls active alerts from the v2 API, acknowledges with a silence and resolves
 * by expiring it. Register it under the source name `prometheus`: Alertmanager posts to
 * `/api/v1/tickets/webhook/prometheus`.
 */
const prometheus = defineConnector({
  kind: "monitoring",
  name,
  version: "0.1.0",
  sdk: "^0.1.0",
  description: "Prometheus Alertmanager: webhook receiver, active alerts pull, silences.",
  configSchema: PrometheusConfig,
  capabilities: ["webhook", "verify-webhook", "pull", "acknowledge", "resolve", "health-check", "describe"],
  vendorSetup: alertmanagerSetup,
  sampleWebhook: sampleAlertmanagerWebhook,
  create(config, ctx): MonitoringConnector {
    const parse = createWebhookParser(config, name);
    const connector: MonitoringConnector = {
      verifyWebhook: (request) => verifyAlertmanagerRequest(config.webhookAuth, request),
      parseWebhook: parse,
    };
    const { url } = config;
    if (url === undefined) return connector;

    const api = createAlertmanagerApi({ ...config, url }, { source: name, logger: ctx.logger, now: ctx.now });
    // Each call's signal comes from core with engine shutdown and the call's timeout in it.
    return {
      ...connector,
      pull: ({ since, signal }) => api.pull({ since, signal }),
      acknowledge: (ticket, { signal }) => api.acknowledge(ticket, signal),
      resolve: (ticket, { signal }) => api.resolve(ticket, signal),
      describe: (write) => describeSilenceWrite(write, url, config.silence.durationMs),
      healthCheck: ({ signal }) => api.healthCheck(signal),
    };
  },
});

export default prometheus;
