import type { MonitoringConnector } from "@runwarden/core";
import { defineConnector } from "@runwarden/core";
import { PrometheusConfig } from "./config.js";
import { createAlertmanagerApi } from "./internal/api.js";
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
  capabilities: ["webhook", "verify-webhook", "pull", "acknowledge", "resolve", "health-check"],
  create(config, ctx): MonitoringConnector {
    const parse = createWebhookParser(config, name);
    const connector: MonitoringConnector = {
      verifyWebhook: (request) => verifyAlertmanagerRequest(config.webhookAuth, request),
      parseWebhook: parse,
    };
    const { url } = config;
    if (url === undefined) return connector;

    const api = createAlertmanagerApi({ ...config, url }, { source: name, logger: ctx.logger, now: ctx.now });
    const withEngine = (signal: AbortSignal | undefined) =>
      signal ? AbortSignal.any([signal, ctx.signal]) : ctx.signal;
    return {
      ...connector,
      pull: ({ since, signal }) => api.pull({ since, signal: withEngine(signal) }),
      acknowledge: (ticket, options) => api.acknowledge(ticket, withEngine(options?.signal)),
      resolve: (ticket, options) => api.resolve(ticket, withEngine(options?.signal)),
      healthCheck: () =>
        api.healthCheck(AbortSignal.any([ctx.signal, AbortSignal.timeout(config.timeoutMs)])),
    };
  },
});

export default prometheus;
