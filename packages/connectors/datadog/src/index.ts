export {
  DatadogConfig,
  type DatadogConfigInput,
  type DatadogSite,
  datadogSites,
  WebhookAuth,
} from "./config.js";
export { default } from "./datadog.js";
export { EventsList, MonitorGroupSearch, WebhookPayload, webhookTemplate } from "./payload.js";
