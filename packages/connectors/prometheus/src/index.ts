export {
  ApiAuth,
  defaultSeverities,
  FieldMapping,
  PrometheusConfig,
  type PrometheusConfigInput,
  WebhookAuth,
} from "./config.js";
export { ApiAlert, ApiSilence, WebhookAlert, WebhookPayload } from "./payload.js";
export { default } from "./prometheus.js";
