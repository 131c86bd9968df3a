export {
  SolarWindsConfig,
  type SolarWindsConfigInput,
  SolarWindsTls,
  WebhookAuth,
} from "./config.js";
export {
  ActiveAlertRow,
  AlertStateRow,
  QueryResponse,
  ResetRow,
  WebhookPayload,
  webhookResetTemplate,
  webhookTemplate,
} from "./payload.js";
export { default, solarWindsVendorSetup } from "./solarwinds.js";
