export {
  OpManagerConfig,
  type OpManagerConfigInput,
  OpManagerTls,
  WebhookAuth,
} from "./config.js";
export { default, opManagerVendorSetup } from "./opmanager.js";
export { ActionResponse, Alarm, WebhookPayload, webhookTemplate } from "./payload.js";
